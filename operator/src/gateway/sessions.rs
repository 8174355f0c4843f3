//! `/api/sessions`: create, list, show, delete, send, one-shot, approve, history, screen.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use cockpit_api::api::{
    ApprovalAnswer, CreateSession, HistoryEntry, HistoryPage, OneshotRequest, SendMessage, SessionView, TranscriptPage,
};
use cockpit_api::frames::ClientFrame;
use cockpit_api::ids::SessionId;
use cockpit_api::{ClaudeSession, ClaudeSessionSpec, ClaudeSessionStatus, RotationPolicy, SessionMode};
use tokio_tungstenite::tungstenite::Message;

use super::error::{Body, Failure};
use super::query::{Paging, Params};
use super::security::actor;
use crate::app::App;
use crate::store::SessionRow;

/// Finds a session by its key, the `{id}` of a path: its id or, failing that, the name of a
/// live session. The row found carries the session's [`SessionId`].
pub async fn find(app: &App, key: &str) -> Result<SessionRow, Failure> {
    if key.len() > 200 || key.chars().any(char::is_control) {
        return Err(Failure::bad_request("invalid session id or name"));
    }
    if let Some(row) = app.store.get_session(&SessionId::from(key)).await? {
        return Ok(row);
    }
    if let Some(row) = app.store.get_session_by_name(key).await? {
        return Ok(row);
    }
    Err(Failure::not_found(format!("no session {key:?}")))
}

async fn audit(app: &App, headers: &HeaderMap, action: &str, session: Option<&SessionId>, detail: serde_json::Value) {
    if let Err(err) = app.store.audit(Utc::now(), actor(headers).as_deref(), action, session, &detail).await {
        tracing::warn!(%err, "writing the audit log");
    }
}

/// `GET /api/sessions`.
pub async fn list(State(app): State<Arc<App>>) -> Result<Json<Vec<SessionView>>, Failure> {
    let rows = app.store.list_sessions(false).await?;
    Ok(Json(rows.iter().map(|r| app.session_view(r)).collect()))
}

/// `GET /api/sessions/{id}`.
pub async fn show(State(app): State<Arc<App>>, Path(id): Path<String>) -> Result<Json<SessionView>, Failure> {
    let row = find(&app, &id).await?;
    Ok(Json(app.session_view(&row)))
}

fn generated_name(repo: &str) -> String {
    let suffix: String = uuid::Uuid::new_v4().simple().to_string().chars().take(6).collect();
    let base: String = repo.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').take(50).collect();
    format!("{}-{suffix}", base.to_ascii_lowercase())
}

/// Checks a request against the config and the CRD's own rules, and builds the session.
fn new_session(app: &App, body: CreateSession) -> Result<SessionRow, Failure> {
    let repo = app
        .config
        .repo(&body.repo_name)
        .ok_or_else(|| {
            let known: Vec<&str> = app.config.repos.iter().map(|r| r.name.as_str()).collect();
            Failure::bad_request(format!("unknown repo {:?}; configured repos: {known:?}", body.repo_name))
        })?
        .name
        .clone();
    if let Some(account) = &body.account_id
        && app.backend.accounts_in_config()
        && !app.has_account(account)
    {
        return Err(Failure::bad_request(format!("unknown account {account:?}")));
    }
    let name = match body.name {
        Some(name) => {
            crate::config::validate_name(&name)
                .map_err(|why| Failure::bad_request(format!("invalid name {name:?}: {why}")))?;
            name
        }
        None => generated_name(&repo),
    };
    let spec = ClaudeSessionSpec {
        repo,
        account_ref: body.account_id,
        mode: body.mode.unwrap_or(SessionMode::Interactive),
        prompt: body.prompt.filter(|p| !p.trim().is_empty()),
        model: body.model,
        permission_mode: Some(body.permission_mode.unwrap_or(app.config.default_permission_mode)),
        resume: None,
        rotation: body.rotation.unwrap_or(RotationPolicy::Auto),
    };
    validate_spec(&name, &spec)?;
    let now = Utc::now();
    Ok(SessionRow {
        id: uuid::Uuid::new_v4().into(),
        name,
        repo: spec.repo.clone(),
        spec,
        status: ClaudeSessionStatus::default(),
        created_at: now,
        updated_at: now,
        deleted_at: None,
    })
}

/// Text a person may send: no NUL and no control characters but newlines and tabs.
fn check_text(what: &str, text: &str) -> Result<(), Failure> {
    if text.chars().any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r') {
        return Err(Failure::bad_request(format!("{what} contains control characters")));
    }
    Ok(())
}

/// The same rules the API server applies to a `ClaudeSession` (its CEL validations), plus
/// what a command line can carry.
fn validate_spec(name: &str, spec: &ClaudeSessionSpec) -> Result<(), Failure> {
    if let Some(prompt) = &spec.prompt {
        check_text("the prompt", prompt)?;
    }
    ClaudeSession::new(name, spec.clone()).validate_cel().map_err(|err| {
        let text = format!("{err}");
        Failure::bad_request(if text.contains("needs a non-empty spec.prompt") {
            "a one-shot session needs a prompt".to_owned()
        } else {
            format!("invalid session: {text}")
        })
    })?;
    if let Some(model) = &spec.model
        && (model.is_empty() || model.len() > 200 || model.chars().any(|c| c.is_whitespace() || c.is_control()))
    {
        return Err(Failure::bad_request("invalid model name"));
    }
    Ok(())
}

async fn create_row(app: &Arc<App>, headers: &HeaderMap, row: SessionRow) -> Result<Response, Failure> {
    let row = app.backend.create_session(app, row).await?;
    audit(
        app,
        headers,
        "create",
        Some(&row.id),
        serde_json::json!({ "name": row.name, "repo": row.repo, "mode": row.spec.mode }),
    )
    .await;
    Ok((StatusCode::CREATED, Json(app.session_view(&row))).into_response())
}

/// `POST /api/sessions`.
pub async fn create(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Body(body): Body<CreateSession>,
) -> Result<Response, Failure> {
    let row = new_session(&app, body)?;
    create_row(&app, &headers, row).await
}

/// `DELETE /api/sessions/{id}`: stops the session; its history is kept.
pub async fn delete(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<SessionView>, Failure> {
    let row = find(&app, &id).await?;
    if row.deleted_at.is_none() {
        app.backend.delete_session(&app, &row).await?;
        audit(&app, &headers, "delete", Some(&row.id), serde_json::json!({ "name": row.name })).await;
    }
    let row = find(&app, &row.id).await?;
    Ok(Json(app.session_view(&row)))
}

fn frame(frame: &ClientFrame) -> Result<Message, Failure> {
    serde_json::to_string(frame).map(|t| Message::Text(t.into())).map_err(Failure::internal)
}

/// `POST /api/sessions/{id}/send`: types a message (and Enter) into the session.
pub async fn send(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Body(body): Body<SendMessage>,
) -> Result<StatusCode, Failure> {
    let row = find(&app, &id).await?;
    if body.text.len() > cockpit_api::frames::MAX_CLIENT_FRAME_BYTES - 64 {
        return Err(Failure::bad_request("message too long"));
    }
    check_text("the message", &body.text)?;
    if row.spec.mode == SessionMode::Oneshot {
        return Err(Failure::conflict("a one-shot session takes no input"));
    }
    // A worker stopping for a usage limit still takes input for a moment: it would be lost.
    if row.status.phase == cockpit_api::SessionPhase::RateLimited {
        return Err(Failure::conflict(
            "the session waits for a usage-limit reset; nothing was sent (keep the message and send it when it resumes)",
        ));
    }
    let stream = app.streams.stream(&row.id).await?;
    if !stream.has_worker() {
        return Err(Failure::conflict("the session has no running worker"));
    }
    // Text typed while a permission dialog is open would answer it (Enter picks "Yes").
    if let Some(approval) = stream.state().and_then(|s| s.approval) {
        return Err(Failure::approval_pending(approval, false));
    }
    stream.send_upstream(frame(&ClientFrame::Input { data: body.text.clone() })?).await?;
    if body.submit.unwrap_or(true) {
        tokio::time::sleep(std::time::Duration::from_millis(150)).await;
        if let Some(approval) = stream.state().and_then(|s| s.approval) {
            audit(
                &app,
                &headers,
                "send",
                Some(&row.id),
                serde_json::json!({ "chars": body.text.chars().count(), "submitted": false }),
            )
            .await;
            return Err(Failure::approval_pending(approval, true));
        }
        stream.send_upstream(frame(&ClientFrame::Key { key: cockpit_api::frames::Key::Enter })?).await?;
    }
    audit(&app, &headers, "send", Some(&row.id), serde_json::json!({ "chars": body.text.chars().count() })).await;
    Ok(StatusCode::ACCEPTED)
}

/// `POST /api/sessions/{id}/approval`: allows or denies the pending permission request.
pub async fn approve(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Body(body): Body<ApprovalAnswer>,
) -> Result<StatusCode, Failure> {
    let row = find(&app, &id).await?;
    let stream = app.streams.stream(&row.id).await?;
    let pending = stream.state().and_then(|s| s.approval).filter(|a| a.id == body.id && a.answerable);
    let Some(pending) = pending.filter(|_| stream.has_worker()) else {
        return Err(Failure::not_found(format!("no pending permission request {:?} in this session", body.id)));
    };
    let upstream =
        frame(&ClientFrame::Approve { id: body.id.clone(), decision: body.decision, message: body.message.clone() })?;
    // The note is in the conversation before the CLI can act on the answer, so it comes before
    // every line the answer causes, live as on a later re-read.
    let note = crate::conversation::notes::answer_note(&pending, body.decision, body.message.as_deref());
    let recorded = super::answer_note::record(&app.store, &row.id, &note).await;
    if let Err(err) = stream.send_upstream(upstream).await {
        super::answer_note::withdraw(&app.store, &row.id, recorded).await;
        return Err(err.into());
    }
    audit(&app, &headers, "approval", Some(&row.id), serde_json::json!({ "decision": body.decision })).await;
    Ok(StatusCode::ACCEPTED)
}

/// `POST /api/sessions/{id}/oneshot`: a one-shot task continuing this session's conversation.
pub async fn oneshot(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Body(body): Body<OneshotRequest>,
) -> Result<Response, Failure> {
    let source = find(&app, &id).await?;
    let create = CreateSession {
        repo_name: source.spec.repo.clone(),
        name: body.name,
        account_id: source.spec.account_ref.clone(),
        mode: Some(SessionMode::Oneshot),
        prompt: Some(body.prompt),
        model: body.model.or(source.spec.model.clone()),
        permission_mode: body.permission_mode.or(source.spec.permission_mode),
        rotation: Some(source.spec.rotation),
    };
    let mut row = new_session(&app, create)?;
    row.spec.resume = source.status.claude_session_id.clone();
    create_row(&app, &headers, row).await
}

/// `GET /api/sessions/{id}/history`: state changes, rotations and other events, paged.
pub async fn history(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    Params(paging): Params<Paging<i64>>,
) -> Result<Json<HistoryPage>, Failure> {
    let row = find(&app, &id).await?;
    let limit = paging.limit()?;
    let after = paging.after.unwrap_or(0).max(0);
    let rows = app.store.list_events(&row.id, after, limit).await?;
    let next = if rows.len() as u32 == limit { rows.last().map(|r| r.id) } else { None };
    let entries = rows.into_iter().map(|r| HistoryEntry { id: r.id, at: r.at, kind: r.kind, data: r.data }).collect();
    Ok(Json(HistoryPage { entries, next }))
}

/// `GET /api/sessions/{id}/screen`: the rendered screen as text.
pub async fn screen(State(app): State<Arc<App>>, Path(id): Path<String>) -> Result<Response, Failure> {
    let row = find(&app, &id).await?;
    let stream = app.streams.stream(&row.id).await?;
    Ok(([(axum::http::header::CONTENT_TYPE, "text/plain; charset=utf-8")], stream.screen_text()).into_response())
}

/// `GET /api/sessions/{id}/transcript`: the Claude transcript of the conversation, paged.
pub async fn transcript(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    Params(paging): Params<Paging<u64>>,
) -> Result<Json<TranscriptPage>, Failure> {
    let row = find(&app, &id).await?;
    let limit = paging.limit()?;
    let after = paging.after.unwrap_or(0);
    let claude_session_id = row.status.claude_session_id.clone().filter(|id| id.uuid().is_some());
    let file = claude_session_id
        .as_ref()
        .and_then(|sid| crate::conversation::transcript_file(&app.data_dir.join("claude-home"), sid));
    let Some(file) = file else {
        return Ok(Json(TranscriptPage { claude_session_id, entries: Vec::new(), next: None }));
    };
    let text = tokio::fs::read_to_string(&file).await.map_err(Failure::internal)?;
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let entries: Vec<serde_json::Value> = lines
        .iter()
        .skip(usize::try_from(after).unwrap_or(usize::MAX))
        .take(limit as usize)
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect();
    // Client-given numbers never wrap: a cursor past the end is the end.
    let end = after.saturating_add(u64::from(limit));
    let next = (end < lines.len() as u64).then_some(end);
    Ok(Json(TranscriptPage { claude_session_id, entries, next }))
}

/// `GET /api/sessions/{id}/changes`: the files the session's worktree changed against the
/// commit its branch started from, with their diffs.
pub async fn changes(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
) -> Result<Json<cockpit_api::changes::ChangesView>, Failure> {
    let row = find(&app, &id).await?;
    let Some(repo) = app.config.repo(&row.spec.repo) else {
        return Err(Failure::not_found(format!("repo {:?} is not configured", row.spec.repo)));
    };
    let view = crate::changes::session_changes(&repo.path, &app.data_dir, &row.name).await.map_err(|err| {
        tracing::warn!(session = %row.name, %err, "reading a session's changes");
        Failure::unavailable("the session's changes could not be read (see the control plane's log)")
    })?;
    Ok(Json(view))
}
