//! `GET /api/openapi.json`: the OpenAPI 3.1 document of the whole HTTP surface.
//!
//! Every body schema is generated with `schemars` from the Rust types in
//! [`cockpit_api::api`] (request bodies as they are deserialized, responses as they are
//! serialized): nothing here repeats a field. What this module adds by hand is what the types
//! cannot say: the routes of [`super::router`], their parameters, the statuses each handler can
//! answer with, and example request bodies (a test deserializes them into the Rust types).

use std::sync::OnceLock;

use axum::Json;
use cockpit_api::api::schemars::JsonSchema;
use cockpit_api::api::schemars::generate::{SchemaGenerator, SchemaSettings};
use cockpit_api::api::{
    AccountView, ApiError, ApprovalAnswer, ChangeEvent, CreateSession, HealthView, HistoryPage, OneshotRequest,
    PushKey, PushSubscribed, PushSubscriptionJson, PushTestReport, PushUnsubscribe, RepoView, SendMessage, SessionView,
};
use serde_json::{Map, Value, json};

/// Where the generated schemas live in the document.
const SCHEMAS_PATH: &str = "/components/schemas";

/// `GET /api/openapi.json`: the handler, answering [`document`] (generated once).
pub async fn serve() -> Json<Value> {
    static DOCUMENT: OnceLock<Value> = OnceLock::new();
    Json(DOCUMENT.get_or_init(document).clone())
}

/// Collects the schemas of request bodies (deserialize contract) and responses (serialize
/// contract) into one `components/schemas`.
struct Schemas {
    requests: SchemaGenerator,
    responses: SchemaGenerator,
}

impl Schemas {
    fn new() -> Schemas {
        let settings = SchemaSettings::draft2020_12().with(|s| {
            s.definitions_path = SCHEMAS_PATH.into();
            s.meta_schema = None;
        });
        Schemas {
            requests: settings.clone().for_deserialize().into_generator(),
            responses: settings.for_serialize().into_generator(),
        }
    }

    /// The schema of a request body of type `T` (usually a `$ref`).
    fn request<T: JsonSchema>(&mut self) -> Value {
        self.requests.subschema_for::<T>().to_value()
    }

    /// The schema of a response body of type `T` (usually a `$ref`).
    fn response<T: JsonSchema>(&mut self) -> Value {
        self.responses.subschema_for::<T>().to_value()
    }

    /// Every referenced schema, by name.
    ///
    /// # Panics
    /// When a type shared by requests and responses has different schemas under the two
    /// contracts (they would need two names); the OpenAPI test catches that.
    fn into_components(mut self) -> Map<String, Value> {
        let mut all = self.responses.take_definitions(true);
        for (name, schema) in self.requests.take_definitions(true) {
            match all.get(&name) {
                Some(existing) if *existing != schema => {
                    panic!("schema {name} differs between requests and responses; give the request type its own name")
                }
                _ => {
                    all.insert(name, schema);
                }
            }
        }
        all
    }
}

/// A `$ref` to a component schema.
fn component(name: &str) -> Value {
    json!({ "$ref": format!("#{SCHEMAS_PATH}/{name}") })
}

/// A JSON response.
fn json_response(description: &str, schema: Value) -> Value {
    json!({ "description": description, "content": { "application/json": { "schema": schema } } })
}

/// A server-sent-events response that does not end, each event's JSON data described by
/// `event_data` (`x-event-data`).
fn event_stream(event_data: Value) -> Value {
    json!({
        "description": "The event stream; it does not end.",
        "content": { "text/event-stream": { "schema": { "type": "string" }, "x-event-data": event_data } },
    })
}

/// An error response (an [`ApiError`] body).
fn error(description: &str) -> Value {
    json_response(description, component("ApiError"))
}

/// A JSON request body with named examples.
fn json_body(schema: Value, examples: Value) -> Value {
    json!({ "required": true, "content": { "application/json": { "schema": schema, "examples": examples } } })
}

/// The `{id}` path parameter of the session routes.
fn session_id() -> Value {
    json!({
        "name": "id",
        "in": "path",
        "required": true,
        "description": "The session's id, or its name (ids are tried first). Longer than 200 characters: 400.",
        "schema": { "type": "string" },
    })
}

const ORIGIN_403: &str =
    "The request's `Origin` is neither the server's own (`http://` + the `Host`) nor listed in `allowedOrigins`.";
const TOO_LARGE_413: &str = "The body is larger than 64 KiB.";
const INTERNAL_500: &str = "An internal error (details in the control plane's log).";
const BAD_ID_400: &str = "The session id is too long.";
const NO_SESSION_404: &str = "No session with this id or name.";

/// Links from a created session to the operations on it (`id` from the response body).
fn session_links() -> Value {
    let link = |operation: &str, description: &str| json!({ "operationId": operation, "parameters": { "id": "$response.body#/id" }, "description": description });
    json!({
        "GetSession": link("getSession", "The session just created."),
        "DeleteSession": link("deleteSession", "Stops the session just created."),
        "SendMessage": link("sendMessage", "Types into the session just created."),
        "RunOneshot": link("runOneshot", "A one-shot task continuing the session just created."),
        "AnswerApproval": link("answerApproval", "Answers a permission request of the session just created."),
        "GetHistory": link("getHistory", "The history of the session just created."),
        "GetScreen": link("getScreen", "The screen of the session just created."),
    })
}

/// The whole OpenAPI 3.1 document.
pub fn document() -> Value {
    let mut schemas = Schemas::new();

    let health = schemas.response::<HealthView>();
    let repos = schemas.response::<Vec<RepoView>>();
    let accounts = schemas.response::<Vec<AccountView>>();
    let account = schemas.response::<AccountView>();
    let sessions = schemas.response::<Vec<SessionView>>();
    let session = schemas.response::<SessionView>();
    let history = schemas.response::<HistoryPage>();
    let transcript = schemas.response::<cockpit_api::api::TranscriptPage>();
    let conversation = schemas.response::<cockpit_api::conversation::ConversationBatch>();
    let changes = schemas.response::<cockpit_api::changes::ChangesView>();
    let change = schemas.response::<ChangeEvent>();
    schemas.response::<ApiError>();
    let create = schemas.request::<CreateSession>();
    let send = schemas.request::<SendMessage>();
    let oneshot = schemas.request::<OneshotRequest>();
    let approval = schemas.request::<ApprovalAnswer>();
    let push_key = schemas.response::<PushKey>();
    let push_subscribed = schemas.response::<PushSubscribed>();
    let push_report = schemas.response::<PushTestReport>();
    let push_subscription = schemas.request::<PushSubscriptionJson>();
    let push_unsubscribe = schemas.request::<PushUnsubscribe>();

    let paths = json!({
        "/api/health": {
            "get": {
                "operationId": "getHealth",
                "tags": ["system"],
                "summary": "Health: version, runtime, database, session counts and hints",
                "description": "`status` is `ok`, or `degraded` with `hints` saying what to fix (no repos, no accounts, a missing token, …).",
                "responses": {
                    "200": json_response("The control plane's health.", health),
                    "500": error(INTERNAL_500),
                },
            },
        },
        "/api/repos": {
            "get": {
                "operationId": "listRepos",
                "tags": ["system"],
                "summary": "The configured repos (what `repo_name` may be)",
                "responses": {
                    "200": json_response("The repos, in config file order.", repos),
                },
            },
        },
        "/api/accounts": {
            "get": {
                "operationId": "listAccounts",
                "tags": ["accounts"],
                "summary": "The configured accounts with usage and limits (never credentials)",
                "responses": {
                    "200": json_response("The accounts, in config file order.", accounts),
                    "500": error(INTERNAL_500),
                },
            },
        },
        "/api/accounts/{id}/reset-limit": {
            "post": {
                "operationId": "resetAccountLimit",
                "tags": ["accounts"],
                "summary": "Clears an account's usage limit by hand",
                "description": "Sessions waiting for the reset (`RateLimited`) are reconciled at once.",
                "parameters": [{
                    "name": "id",
                    "in": "path",
                    "required": true,
                    "description": "The account's name.",
                    "schema": { "type": "string" },
                }],
                "responses": {
                    "200": json_response("The account after the reset.", account),
                    "403": error(ORIGIN_403),
                    "404": error("No account with this name."),
                    "500": error(INTERNAL_500),
                },
            },
        },
        "/api/sessions": {
            "get": {
                "operationId": "listSessions",
                "tags": ["sessions"],
                "summary": "The sessions not deleted",
                "responses": {
                    "200": json_response("The sessions.", sessions),
                    "500": error(INTERNAL_500),
                },
            },
            "post": {
                "operationId": "createSession",
                "tags": ["sessions"],
                "summary": "Starts a session",
                "description": "The session is created `Pending`; the controller starts its worker.",
                "requestBody": json_body(create, json!({
                    "interactive": {
                        "summary": "An interactive session with a first message",
                        "value": { "repo_name": "demo", "name": "fix-login", "prompt": "Why does the login test fail?" },
                    },
                    "oneshot": {
                        "summary": "A one-shot task on a given account",
                        "value": {
                            "repo_name": "demo",
                            "account_id": "alpha",
                            "mode": "Oneshot",
                            "prompt": "Update the changelog for the last release.",
                            "model": "sonnet",
                            "permission_mode": "acceptEdits",
                            "rotation": "Off",
                        },
                    },
                })),
                "responses": {
                    "201": {
                        "description": "The session, created.",
                        "content": { "application/json": { "schema": session.clone() } },
                        "links": session_links(),
                    },
                    "400": error("Not JSON, not a valid body, an unknown repo or account, an invalid name or model, or a one-shot without a prompt."),
                    "403": error(ORIGIN_403),
                    "409": error("A session with this name already exists."),
                    "413": error(TOO_LARGE_413),
                    "500": error(INTERNAL_500),
                },
            },
        },
        "/api/sessions/{id}": {
            "parameters": [session_id()],
            "get": {
                "operationId": "getSession",
                "tags": ["sessions"],
                "summary": "One session (also a deleted one)",
                "responses": {
                    "200": json_response("The session.", session.clone()),
                    "400": error(BAD_ID_400),
                    "404": error(NO_SESSION_404),
                    "500": error(INTERNAL_500),
                },
            },
            "delete": {
                "operationId": "deleteSession",
                "tags": ["sessions"],
                "summary": "Stops and deletes a session; its history is kept",
                "description": "Deleting a deleted session changes nothing and answers the same.",
                "responses": {
                    "200": json_response("The session, marked deleted.", session.clone()),
                    "400": error(BAD_ID_400),
                    "403": error(ORIGIN_403),
                    "404": error(NO_SESSION_404),
                    "500": error(INTERNAL_500),
                },
            },
        },
        "/api/sessions/{id}/send": {
            "parameters": [session_id()],
            "post": {
                "operationId": "sendMessage",
                "tags": ["sessions"],
                "summary": "Types a message (and Enter, unless `submit` is false) into an interactive session",
                "requestBody": json_body(send, json!({
                    "message": { "summary": "A message, submitted", "value": { "text": "Now run the tests." } },
                    "typeOnly": { "summary": "Text typed without Enter", "value": { "text": "/compact", "submit": false } },
                })),
                "responses": {
                    "202": { "description": "Sent to the worker." },
                    "400": error("Not JSON, not a valid body, a message too long, or the session id too long."),
                    "403": error(ORIGIN_403),
                    "404": error(NO_SESSION_404),
                    "409": error("A one-shot session (takes no input), the session waits for a usage-limit reset, no worker is running, or `approval_pending`: Claude waits on a permission request (the request is in `approval`; typing would answer its dialog, so nothing was submitted)."),
                    "413": error(TOO_LARGE_413),
                    "500": error(INTERNAL_500),
                },
            },
        },
        "/api/sessions/{id}/oneshot": {
            "parameters": [session_id()],
            "post": {
                "operationId": "runOneshot",
                "tags": ["sessions"],
                "summary": "Runs a one-shot task continuing this session's conversation (a new session)",
                "description": "The new session has the same repo, account, rotation and (unless given) model and permission mode, and resumes this session's Claude conversation when it has one.",
                "requestBody": json_body(oneshot, json!({
                    "task": { "summary": "A follow-up task", "value": { "prompt": "Summarise what we changed.", "name": "fix-login-summary" } },
                    "withModel": {
                        "summary": "With a model and permission mode",
                        "value": { "prompt": "Apply the plan.", "model": "opus", "permission_mode": "acceptEdits" },
                    },
                })),
                "responses": {
                    "201": {
                        "description": "The new one-shot session, created.",
                        "content": { "application/json": { "schema": session.clone() } },
                        "links": session_links(),
                    },
                    "400": error("Not JSON, not a valid body, an empty prompt, an invalid name or model, the source session's repo or account no longer configured, or the session id too long."),
                    "403": error(ORIGIN_403),
                    "404": error(NO_SESSION_404),
                    "409": error("A session with this name already exists."),
                    "413": error(TOO_LARGE_413),
                    "500": error(INTERNAL_500),
                },
            },
        },
        "/api/sessions/{id}/approval": {
            "parameters": [session_id()],
            "post": {
                "operationId": "answerApproval",
                "tags": ["sessions"],
                "summary": "Allows or denies the pending permission request",
                "description": "Only a request that came through Claude Code's PermissionRequest hook (`live.approval.answerable`) can be answered here.",
                "requestBody": json_body(approval, json!({
                    "allow": { "summary": "Allow", "value": { "id": "toolu_01", "decision": "allow" } },
                    "deny": { "summary": "Deny with a reason", "value": { "id": "toolu_01", "decision": "deny", "message": "Not on main." } },
                })),
                "responses": {
                    "202": { "description": "The answer was sent to the worker." },
                    "400": error("Not JSON, not a valid body, or the session id too long."),
                    "403": error(ORIGIN_403),
                    "404": error("No such session, or no answerable permission request with this id in it."),
                    "413": error(TOO_LARGE_413),
                    "500": error(INTERNAL_500),
                },
            },
        },
        "/api/sessions/{id}/history": {
            "parameters": [session_id()],
            "get": {
                "operationId": "getHistory",
                "tags": ["sessions"],
                "summary": "The session's recorded events (state changes, prompts, rotations, one-shot events), paged",
                "parameters": [
                    {
                        "name": "after",
                        "in": "query",
                        "description": "Only entries with a larger id (the previous page's `next`). Default 0.",
                        "schema": { "type": "integer", "format": "int64" },
                    },
                    {
                        "name": "limit",
                        "in": "query",
                        "description": "At most this many entries. Default 100.",
                        "schema": { "type": "integer", "format": "uint32", "minimum": 1, "maximum": 500 },
                    },
                ],
                "responses": {
                    "200": json_response("One page, oldest first.", history),
                    "400": error("An invalid or unknown query parameter, `limit` out of 1..=500, or the session id too long."),
                    "404": error(NO_SESSION_404),
                    "500": error(INTERNAL_500),
                },
            },
        },
        "/metrics": {
            "get": {
                "operationId": "getMetrics",
                "tags": ["health"],
                "summary": "Prometheus metrics: sessions by phase, accounts, limited accounts, usage, rotations",
                "responses": {
                    "200": {
                        "description": "OpenMetrics text (Prometheus scrapes it).",
                        "content": { "application/openmetrics-text": { "schema": { "type": "string" } } },
                    },
                    "500": error(INTERNAL_500),
                },
            },
        },
        "/api/sessions/{id}/transcript": {
            "parameters": [session_id()],
            "get": {
                "operationId": "getTranscript",
                "tags": ["sessions"],
                "summary": "The conversation's Claude transcript (the CLI's JSONL lines), paged",
                "parameters": [
                    {
                        "name": "after",
                        "in": "query",
                        "description": "Skip this many lines (the previous page's `next`). Default 0.",
                        "schema": { "type": "integer", "format": "uint64", "minimum": 0 },
                    },
                    {
                        "name": "limit",
                        "in": "query",
                        "description": "At most this many lines. Default 100.",
                        "schema": { "type": "integer", "format": "uint32", "minimum": 1, "maximum": 500 },
                    },
                ],
                "responses": {
                    "200": json_response("One page, oldest first; empty before the conversation started.", transcript),
                    "400": error("An invalid or unknown query parameter, `limit` out of 1..=500, or the session id too long."),
                    "404": error(NO_SESSION_404),
                    "500": error(INTERNAL_500),
                },
            },
        },
        "/api/sessions/{id}/conversation": {
            "parameters": [session_id()],
            "get": {
                "operationId": "streamConversation",
                "tags": ["streams"],
                "summary": "Server-sent events: the session's conversation, live (typed entries from the Claude transcript with Cockpit's notes)",
                "description": "Events: `ready` (data `{}`) first; `entries` with a `ConversationBatch` as JSON data (schema in `x-event-data`) and, as the SSE id, the cursor after it; `restart` (data `{}`) when the cursor named another transcript: drop what you hold, the stream starts over. Reconnect with the last cursor (`Last-Event-ID`, which wins, or `after`): nothing twice, nothing missing. A comment every 15 s keeps the connection open.",
                "parameters": [
                    {
                        "name": "after",
                        "in": "query",
                        "description": "A cursor from an earlier `entries` event (`<transcript offset>.<note id>[.<conversation>]`). Default: the whole conversation.",
                        "schema": { "type": "string", "pattern": "^[0-9]+\\.[0-9]+(\\.[0-9a-f]{1,8})?$" },
                    },
                ],
                "responses": {
                    "200": event_stream(conversation),
                    "400": error("An invalid cursor (`after` or `Last-Event-ID`), an unknown query parameter, or the session id too long."),
                    "404": error(NO_SESSION_404),
                },
            },
        },
        "/api/sessions/{id}/changes": {
            "parameters": [session_id()],
            "get": {
                "operationId": "getChanges",
                "tags": ["sessions"],
                "summary": "The files the session's worktree changed against the commit its branch started from, with their diffs (read-only)",
                "responses": {
                    "200": json_response("The changes; no `branch` when the session works in a plain directory.", changes),
                    "400": error("The session id too long or invalid."),
                    "404": error("No such session, or its repo is no longer configured."),
                    "500": error(INTERNAL_500),
                    "503": error("git could not read the worktree (see the control plane's log)."),
                },
            },
        },
        "/api/sessions/{id}/screen": {
            "parameters": [session_id()],
            "get": {
                "operationId": "getScreen",
                "tags": ["sessions"],
                "summary": "The session's terminal screen, rendered as text",
                "responses": {
                    "200": {
                        "description": "The screen's rows, one per line.",
                        "content": { "text/plain": { "schema": { "type": "string" } } },
                    },
                    "400": error(BAD_ID_400),
                    "404": error(NO_SESSION_404),
                    "500": error(INTERNAL_500),
                },
            },
        },
        "/api/events": {
            "get": {
                "operationId": "streamEvents",
                "tags": ["streams"],
                "summary": "Server-sent events: session and account changes, for the session list",
                "description": "Events: `ready` (data `{}`) first; `change` with a `ChangeEvent` as JSON data (schema in `x-event-data`); `resync` (data `{}`) when the client fell behind and should reload the list. A comment every 15 s keeps the connection open.",
                "responses": {
                    "200": event_stream(change),
                },
            },
        },
        "/api/push/key": {
            "get": {
                "operationId": "getPushKey",
                "tags": ["push"],
                "summary": "The VAPID public key, for the browser's `pushManager.subscribe`",
                "description": "Made once, on the first start, and kept in the database: it stays the same across restarts, so subscriptions stay valid.",
                "responses": {
                    "200": json_response("The key.", push_key),
                    "500": error(INTERNAL_500),
                },
            },
        },
        "/api/push/subscriptions": {
            "post": {
                "operationId": "addPushSubscription",
                "tags": ["push"],
                "summary": "Subscribes a device to notifications (a `PushSubscription.toJSON()`)",
                "description": "The device then gets a notification when a session needs approval, finishes a turn, hits a usage limit, needs a login, or ends. Subscribing the same endpoint again replaces its keys.",
                "requestBody": json_body(push_subscription, json!({
                    "browser": {
                        "summary": "What a browser's PushSubscription.toJSON() gives",
                        "value": {
                            "endpoint": "https://push.example.invalid/wpush/v2/gAAAAABexample",
                            "expirationTime": null,
                            "keys": {
                                "p256dh": "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4",
                                "auth": "BTBZMqHH6r4Tts7J_aSIgg",
                            },
                        },
                    },
                })),
                "responses": {
                    "201": json_response("Stored.", push_subscribed),
                    "400": error("Not JSON, not a valid body, an endpoint that is not https (http only on a loopback host) or longer than 2048 characters, a `p256dh` that is not an uncompressed P-256 point, or an `auth` that is not 16 bytes. Nothing is stored."),
                    "403": error(ORIGIN_403),
                    "413": error(TOO_LARGE_413),
                    "500": error(INTERNAL_500),
                },
            },
            "delete": {
                "operationId": "removePushSubscription",
                "tags": ["push"],
                "summary": "Stops notifications to a device",
                "requestBody": json_body(push_unsubscribe, json!({
                    "device": {
                        "summary": "The endpoint the device subscribed with",
                        "value": { "endpoint": "https://push.example.invalid/wpush/v2/gAAAAABexample" },
                    },
                })),
                "responses": {
                    "204": { "description": "Removed." },
                    "400": error("Not JSON, not a valid body, or an endpoint longer than 2048 characters."),
                    "403": error(ORIGIN_403),
                    "404": error("No subscription with this endpoint."),
                    "413": error(TOO_LARGE_413),
                    "500": error(INTERNAL_500),
                },
            },
        },
        "/api/push/test": {
            "post": {
                "operationId": "sendTestPush",
                "tags": ["push"],
                "summary": "Sends a test notification to every subscribed device",
                "description": "Answers when every push service has answered (or timed out). Subscriptions a push service says are gone (404, 410) are removed.",
                "responses": {
                    "200": json_response("What became of the notification.", push_report),
                    "403": error(ORIGIN_403),
                    "500": error(INTERNAL_500),
                },
            },
        },
        "/ws/sessions/{id}": {
            "parameters": [session_id()],
            "get": {
                "operationId": "sessionTerminal",
                "tags": ["streams"],
                "summary": "WebSocket: the session's terminal (output, state, input)",
                "description": "A WebSocket upgrade. The server sends a `hello` text frame (protocol version and state), then binary frames (kind byte, big-endian u64 offset, payload: output or a screen snapshot) and `state`/`error` text frames; the client sends `input`, `key`, `resize` and `approve` text frames (types `ServerFrame` and `ClientFrame` of the generated TypeScript). With `from`, the client gets exactly the bytes after that offset, or a snapshot when they are gone. After the worker ended, the persisted output is replayed.",
                "parameters": [
                    {
                        "name": "from",
                        "in": "query",
                        "description": "Resume after this output byte offset (the end offset of the last frame the client got). No other query parameter is accepted.",
                        "schema": { "type": "integer", "format": "uint64", "minimum": 0 },
                    },
                    { "name": "Connection", "in": "header", "required": true, "schema": { "const": "Upgrade" } },
                    { "name": "Upgrade", "in": "header", "required": true, "schema": { "const": "websocket" } },
                    { "name": "Sec-WebSocket-Version", "in": "header", "required": true, "schema": { "const": "13" } },
                    { "name": "Sec-WebSocket-Key", "in": "header", "required": true, "schema": { "type": "string" } },
                ],
                "responses": {
                    "101": { "description": "Switching Protocols: the WebSocket is open." },
                    "400": {
                        "description": "`from` is not a non-negative integer, an unknown query parameter, or the session id too long (JSON); or not a valid WebSocket handshake (plain text).",
                        "content": {
                            "application/json": { "schema": component("ApiError") },
                            "text/plain": { "schema": { "type": "string" } },
                        },
                    },
                    "403": error(ORIGIN_403),
                    "404": error(NO_SESSION_404),
                    "426": {
                        "description": "The connection cannot be upgraded (plain text).",
                        "content": { "text/plain": { "schema": { "type": "string" } } },
                    },
                    "500": error(INTERNAL_500),
                },
            },
        },
        "/api/openapi.json": {
            "get": {
                "operationId": "getOpenApi",
                "tags": ["system"],
                "summary": "This document",
                "responses": {
                    "200": json_response("The OpenAPI 3.1 document.", json!({ "type": "object" })),
                },
            },
        },
    });

    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Claude Cockpit",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The control plane's API: sessions, accounts, the change stream and the session terminals. The perimeter is the tailnet; every request must name a host this server serves in `Host` (an IP literal, `localhost`, the machine's name, a `*.ts.net` tailnet name or the host of an `allowedOrigins` entry; else 421, which stops DNS rebinding), and a request that carries an `Origin` must come from the server's own (`http://` + the `Host`) or an allowed one (else 403), and the `Tailscale-User-Login` header set by Tailscale Serve names the actor in the audit log. Every error body is an `ApiError`. Unknown paths answer 404 (`ApiError`).",
            "license": { "name": "Apache-2.0", "identifier": "Apache-2.0" },
        },
        "tags": [
            { "name": "sessions", "description": "Claude Code sessions." },
            { "name": "accounts", "description": "Claude accounts, usage and limits." },
            { "name": "streams", "description": "Server-sent events and WebSockets." },
            { "name": "push", "description": "Web Push notifications for the PWA." },
            { "name": "system", "description": "Health, repos and this document." },
        ],
        "paths": paths,
        "components": { "schemas": schemas.into_components() },
    })
}
