// The REST API (`GET /api/openapi.json` documents it).
import type {
  AccountView,
  ApiError,
  ApprovalAnswer,
  ChangesView,
  CreateSession,
  HealthView,
  PushKey,
  RepoView,
  SendMessage,
  SessionView,
  TranscriptPage,
} from '../types/cockpit';

export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers: body === undefined ? undefined : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiFailure(0, 'offline', 'The control plane cannot be reached.');
  }
  const text = await res.text();
  if (!res.ok) {
    let err: Partial<ApiError> = {};
    try {
      err = JSON.parse(text) as ApiError;
    } catch {
      /* not JSON */
    }
    throw new ApiFailure(res.status, err.code ?? 'http', err.error ?? `HTTP ${res.status}`);
  }
  return (text ? JSON.parse(text) : undefined) as T;
}

export const api = {
  sessions: () => request<SessionView[]>('GET', '/api/sessions'),
  session: (id: string) => request<SessionView>('GET', `/api/sessions/${encodeURIComponent(id)}`),
  create: (body: CreateSession) => request<SessionView>('POST', '/api/sessions', body),
  stop: (id: string) => request<SessionView>('DELETE', `/api/sessions/${encodeURIComponent(id)}`),
  send: (id: string, message: SendMessage) => request<void>('POST', `/api/sessions/${encodeURIComponent(id)}/send`, message),
  changes: (id: string) => request<ChangesView>('GET', `/api/sessions/${encodeURIComponent(id)}/changes`),
  approve: (id: string, answer: ApprovalAnswer) =>
    request<void>('POST', `/api/sessions/${encodeURIComponent(id)}/approval`, answer),
  transcript: (id: string, after = 0) =>
    request<TranscriptPage>('GET', `/api/sessions/${encodeURIComponent(id)}/transcript?after=${after}&limit=500`),
  accounts: () => request<AccountView[]>('GET', '/api/accounts'),
  resetLimit: (id: string) => request<AccountView>('POST', `/api/accounts/${encodeURIComponent(id)}/reset-limit`, {}),
  repos: () => request<RepoView[]>('GET', '/api/repos'),
  health: () => request<HealthView>('GET', '/api/health'),
  pushKey: () => request<PushKey>('GET', '/api/push/key'),
};
