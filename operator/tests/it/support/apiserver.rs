//! An in-memory stand-in for the Kubernetes API server, served over real HTTP on 127.0.0.1, for
//! end-to-end tests of the operator: the real `kube` client (from a kubeconfig file or a URL),
//! kube-runtime's watchers, reflectors and controllers, and `kubectl`-like steps of a test all
//! talk to it as they would to a cluster.
//!
//! What it implements, for namespaced resources (`/api/v1/namespaces/{ns}/{plural}` and
//! `/apis/{group}/{version}/namespaces/{ns}/{plural}`; see [`KINDS`]):
//! - **list** with label selectors (`=`, `==`, `!=`, `in`, `notin`, existence) and the
//!   `metadata.name` field selector, answered with the current `metadata.resourceVersion` (one
//!   page: `limit` is ignored); also across namespaces (`/api/v1/{plural}`).
//! - **watch** (`?watch=true`): newline-delimited watch events from `resourceVersion` (or the
//!   current objects as `ADDED` first when it is absent or `0`), objects entering or leaving the
//!   selector as `ADDED`/`DELETED`, a `BOOKMARK` after the backlog with `allowWatchBookmarks`, the
//!   initial-events-end bookmark with `sendInitialEvents`, and the stream closed after
//!   `timeoutSeconds`. The whole history is kept, so no resourceVersion is ever too old.
//! - **get**, **create** (name or `generateName`; assigns `uid`, `resourceVersion`,
//!   `creationTimestamp`, `generation`; drops `status` of kinds with a status subresource; turns
//!   a Secret's `stringData` into `data`), **replace** (PUT), **patch**: merge, JSON patch
//!   (RFC 6902: add, remove, replace, test, move, copy; a failed `test` is a 422), strategic merge
//!   (treated as a merge), and server-side apply (creates a missing object; fields a manager
//!   applied before and no longer applies are removed; lists are atomic; no conflicts: always
//!   forced). `metadata.resourceVersion` in a body is a precondition (409 Conflict on mismatch).
//! - the **status subresource** (`…/{name}/status`): writes there change only `status`, writes to
//!   the object never do; `metadata.generation` moves when anything but metadata and status changes.
//! - **delete**: an object with finalizers gets a `deletionTimestamp` and stays until its last
//!   finalizer is removed; a Pod bound to a node (`spec.nodeName`) is deleted gracefully (a
//!   `deletionTimestamp`, then gone when deleted again with `gracePeriodSeconds=0`, as the kubelet
//!   does); everything else goes at once. Dependents (by `ownerReferences` uid) are then deleted
//!   too (background garbage collection, done synchronously).
//! - a per-resource validation hook ([`ApiServer::validate_with`]) standing in for schema and CEL
//!   validation (a 422 `Invalid` when it refuses).
//!
//! Not implemented: authentication and authorization, admission, defaulting, pagination, field
//! ownership conflicts, cluster-scoped kinds. Tests also use it in process ([`ApiServer::create`],
//! [`ApiServer::patch`], [`ApiServer::changes`], …), e.g. the kubelet stand-in.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Query, Request};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

/// A resource the stand-in serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Kind {
    /// `api/v1` or `apis/{group}/{version}`.
    pub prefix: &'static str,
    /// `v1` or `{group}/{version}`.
    pub api_version: &'static str,
    /// The resource name in URLs, e.g. `pods`.
    pub plural: &'static str,
    /// The kind, e.g. `Pod`.
    pub kind: &'static str,
    /// Whether it has a status subresource.
    pub status: bool,
}

/// Every resource the stand-in serves (plurals are unique).
pub const KINDS: &[Kind] = &[
    Kind { prefix: "api/v1", api_version: "v1", plural: "pods", kind: "Pod", status: true },
    Kind { prefix: "api/v1", api_version: "v1", plural: "secrets", kind: "Secret", status: false },
    Kind { prefix: "api/v1", api_version: "v1", plural: "configmaps", kind: "ConfigMap", status: false },
    Kind { prefix: "api/v1", api_version: "v1", plural: "serviceaccounts", kind: "ServiceAccount", status: false },
    Kind {
        prefix: "apis/events.k8s.io/v1",
        api_version: "events.k8s.io/v1",
        plural: "events",
        kind: "Event",
        status: false,
    },
    Kind {
        prefix: "apis/coordination.k8s.io/v1",
        api_version: "coordination.k8s.io/v1",
        plural: "leases",
        kind: "Lease",
        status: false,
    },
    Kind {
        prefix: "apis/cockpit.dev/v1alpha1",
        api_version: "cockpit.dev/v1alpha1",
        plural: "claudesessions",
        kind: "ClaudeSession",
        status: true,
    },
    Kind {
        prefix: "apis/cockpit.dev/v1alpha1",
        api_version: "cockpit.dev/v1alpha1",
        plural: "claudeaccounts",
        kind: "ClaudeAccount",
        status: true,
    },
];

/// The kind served under `plural`.
pub fn kind_of(plural: &str) -> Option<&'static Kind> {
    KINDS.iter().find(|k| k.plural == plural)
}

/// An API error, answered as a `Status` object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status code.
    pub code: u16,
    /// The `reason` (`NotFound`, `AlreadyExists`, `Conflict`, `Invalid`, `BadRequest`, …).
    pub reason: &'static str,
    /// The message.
    pub message: String,
}

impl ApiError {
    fn new(code: u16, reason: &'static str, message: impl Into<String>) -> ApiError {
        ApiError { code, reason, message: message.into() }
    }

    fn not_found(kind: &Kind, name: &str) -> ApiError {
        ApiError::new(404, "NotFound", format!("{} \"{name}\" not found", kind.plural))
    }

    fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(400, "BadRequest", message)
    }

    fn invalid(message: impl Into<String>) -> ApiError {
        ApiError::new(422, "Invalid", message)
    }

    /// The `Status` object.
    pub fn status(&self) -> Value {
        json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": self.message, "reason": self.reason, "code": self.code,
        })
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = StatusCode::from_u16(self.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (code, [(header::CONTENT_TYPE, "application/json")], self.status().to_string()).into_response()
    }
}

/// How a patch body is to be read (from the request's content type).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PatchKind {
    /// `application/merge-patch+json` (RFC 7386).
    Merge,
    /// `application/strategic-merge-patch+json`, treated as a merge.
    Strategic,
    /// `application/json-patch+json` (RFC 6902).
    Json,
    /// `application/apply-patch+yaml`: server-side apply by a field manager.
    Apply,
}

/// One change of one object, as watches see it.
#[derive(Clone, Debug)]
pub struct Change {
    /// The resourceVersion the change made.
    pub rv: u64,
    /// The resource's plural.
    pub plural: &'static str,
    /// The object's namespace.
    pub namespace: String,
    /// The object before (None for a creation).
    pub before: Option<Value>,
    /// The object after; for a deletion, the last state with the deletion's resourceVersion.
    pub after: Value,
    /// True for a deletion.
    pub deleted: bool,
}

/// Refuses an invalid object with a message (a 422).
pub type Validator = Arc<dyn Fn(&Value) -> Result<(), String> + Send + Sync>;

type Key = (&'static str, String, String);

#[derive(Default)]
struct Store {
    rv: u64,
    objects: BTreeMap<Key, Value>,
    log: Vec<Change>,
    /// What each field manager last applied, per object and subresource.
    applied: HashMap<(Key, String, bool), Value>,
    validators: HashMap<&'static str, Validator>,
    requests: Vec<String>,
}

struct Shared {
    store: Mutex<Store>,
    tick: tokio::sync::watch::Sender<u64>,
}

/// A running stand-in API server. Cheap to clone (a handle); the server stops when the last
/// handle is dropped.
#[derive(Clone)]
pub struct ApiServer {
    shared: Arc<Shared>,
    addr: SocketAddr,
    _task: Arc<AbortOnDrop>,
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

impl ApiServer {
    /// Starts serving on a free 127.0.0.1 port.
    pub async fn start() -> ApiServer {
        let (tick, _) = tokio::sync::watch::channel(0);
        // Like a real cluster, resourceVersions start well above 0 ("0" means "any" to a watch).
        let store = Store { rv: 1000, ..Store::default() };
        let shared = Arc::new(Shared { store: Mutex::new(store), tick });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("binding the API server stand-in");
        let addr = listener.local_addr().expect("local address");
        let router = axum::Router::new().fallback({
            let shared = shared.clone();
            move |request: Request| handle(shared.clone(), request)
        });
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        ApiServer { shared, addr, _task: Arc::new(AbortOnDrop(task)) }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A kube client for `namespace`, straight to the stand-in.
    pub fn client(&self, namespace: &str) -> kube::Client {
        let url = self.url().parse().expect("a URL");
        let mut config = kube::Config::new(url);
        config.default_namespace = namespace.to_owned();
        kube::Client::try_from(config).expect("a client")
    }

    /// Writes a kubeconfig file for the stand-in (plain HTTP, no credentials) with `namespace`
    /// as the context's namespace.
    pub fn write_kubeconfig(&self, path: &Path, namespace: &str) {
        let text = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: stand-in\n  cluster:\n    server: {}\n\
             users:\n- name: tester\n  user: {{}}\ncontexts:\n- name: stand-in\n  context:\n    cluster: stand-in\n    \
             user: tester\n    namespace: {namespace}\ncurrent-context: stand-in\n",
            self.url()
        );
        std::fs::write(path, text).expect("writing the kubeconfig");
    }

    fn store(&self) -> MutexGuard<'_, Store> {
        self.shared.store.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Refuses objects of `plural` that `validator` refuses (on create and on every update).
    pub fn validate_with(
        &self,
        plural: &str,
        validator: impl Fn(&Value) -> Result<(), String> + Send + Sync + 'static,
    ) {
        let kind = kind_of(plural).expect("a known resource");
        self.store().validators.insert(kind.plural, Arc::new(validator));
    }

    /// Every request so far, as `METHOD path?query`.
    pub fn requests(&self) -> Vec<String> {
        self.store().requests.clone()
    }

    /// The object, if it exists.
    pub fn get(&self, plural: &str, namespace: &str, name: &str) -> Option<Value> {
        let kind = kind_of(plural)?;
        self.store().objects.get(&(kind.plural, namespace.to_owned(), name.to_owned())).cloned()
    }

    /// The objects of `plural` in `namespace` whose labels match `selector` (`""` for all).
    pub fn list(&self, plural: &str, namespace: &str, selector: &str) -> Vec<Value> {
        let kind = kind_of(plural).expect("a known resource");
        let selector = Selector::parse(selector).expect("a valid selector");
        let store = self.store();
        store
            .objects
            .iter()
            .filter(|((p, ns, _), obj)| *p == kind.plural && ns == namespace && selector.matches(obj))
            .map(|(_, obj)| obj.clone())
            .collect()
    }

    /// Every object of every kind (for checks over the whole "cluster").
    pub fn dump(&self) -> Vec<Value> {
        self.store().objects.values().cloned().collect()
    }

    /// Creates an object (as `POST`).
    pub fn create(&self, plural: &str, namespace: &str, body: Value) -> Result<Value, ApiError> {
        let kind = kind_of(plural).ok_or_else(|| ApiError::new(404, "NotFound", "no such resource"))?;
        self.write(|store| store.create(kind, namespace, body))
    }

    /// Patches an object or (`status`) its status subresource (as `PATCH`).
    pub fn patch(
        &self,
        plural: &str,
        namespace: &str,
        name: &str,
        status: bool,
        patch_kind: PatchKind,
        body: Value,
    ) -> Result<Value, ApiError> {
        let kind = kind_of(plural).ok_or_else(|| ApiError::new(404, "NotFound", "no such resource"))?;
        self.write(|store| store.patch(kind, namespace, name, status, patch_kind, body, "test"))
    }

    /// Deletes an object (as `DELETE`, with `gracePeriodSeconds` when given).
    pub fn delete(&self, plural: &str, namespace: &str, name: &str, grace: Option<i64>) -> Result<Value, ApiError> {
        let kind = kind_of(plural).ok_or_else(|| ApiError::new(404, "NotFound", "no such resource"))?;
        self.write(|store| store.delete(kind, namespace, name, &DeleteOptions { grace, ..DeleteOptions::default() }))
    }

    fn write<T>(&self, op: impl FnOnce(&mut Store) -> Result<T, ApiError>) -> Result<T, ApiError> {
        let (result, rv) = {
            let mut store = self.store();
            let result = op(&mut store);
            (result, store.rv)
        };
        self.shared.tick.send_replace(rv);
        result
    }

    /// Every change of `plural` from `after` (a position in the history: 0 for the beginning),
    /// waiting up to `wait` for one when there is none yet; returns the changes and the next
    /// position.
    pub async fn changes(&self, plural: &str, after: usize, wait: Duration) -> (Vec<Change>, usize) {
        let kind = kind_of(plural).expect("a known resource");
        let mut tick = self.shared.tick.subscribe();
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            {
                let store = self.store();
                let next = store.log.len();
                let found: Vec<Change> =
                    store.log[after.min(next)..].iter().filter(|c| c.plural == kind.plural).cloned().collect();
                if !found.is_empty() {
                    return (found, next);
                }
                // Marked while the store is locked: a write after this check is seen below.
                tick.mark_unchanged();
                if tokio::time::Instant::now() >= deadline {
                    return (found, next);
                }
            }
            let _ = tokio::time::timeout_at(deadline, tick.changed()).await;
        }
    }
}

#[derive(Debug, Default)]
struct DeleteOptions {
    grace: Option<i64>,
    uid: Option<String>,
    resource_version: Option<String>,
}

fn meta(obj: &Value, field: &str) -> Option<String> {
    obj.get("metadata").and_then(|m| m.get(field)).and_then(Value::as_str).map(str::to_owned)
}

fn meta_mut(obj: &mut Value) -> &mut Map<String, Value> {
    if !obj.get("metadata").is_some_and(Value::is_object) {
        obj["metadata"] = json!({});
    }
    match obj.get_mut("metadata") {
        Some(Value::Object(map)) => map,
        _ => unreachable!("metadata was just made an object"),
    }
}

fn finalizers(obj: &Value) -> usize {
    obj.pointer("/metadata/finalizers").and_then(Value::as_array).map_or(0, Vec::len)
}

/// What `metadata.generation` follows: everything but metadata and status.
fn generational(obj: &Value) -> Value {
    let mut copy = obj.clone();
    if let Some(map) = copy.as_object_mut() {
        map.remove("metadata");
        map.remove("status");
    }
    copy
}

fn random_suffix() -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let bytes = uuid::Uuid::new_v4().into_bytes();
    bytes.iter().take(5).map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char).collect()
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Decodes standard base64 (a Secret's `data`; whitespace ignored), or None.
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    let clean: Vec<u8> = text.bytes().filter(|c| !c.is_ascii_whitespace()).collect();
    base64::engine::general_purpose::STANDARD.decode(clean).ok()
}

impl Store {
    fn bump(&mut self) -> u64 {
        self.rv += 1;
        self.rv
    }

    fn validate(&self, kind: &Kind, obj: &Value) -> Result<(), ApiError> {
        match self.validators.get(kind.plural) {
            Some(validator) => validator(obj).map_err(|why| {
                ApiError::invalid(format!(
                    "{} \"{}\" is invalid: {why}",
                    kind.kind,
                    meta(obj, "name").unwrap_or_default()
                ))
            }),
            None => Ok(()),
        }
    }

    fn create(&mut self, kind: &'static Kind, namespace: &str, mut body: Value) -> Result<Value, ApiError> {
        if !body.is_object() {
            return Err(ApiError::bad_request("the body must be a JSON object"));
        }
        for (field, expected) in [("apiVersion", kind.api_version), ("kind", kind.kind)] {
            match body.get(field).and_then(Value::as_str) {
                None => body[field] = json!(expected),
                Some(given) if given == expected => {}
                Some(given) => return Err(ApiError::bad_request(format!("{field} {given:?} is not {expected:?}"))),
            }
        }
        if let Some(ns) = meta(&body, "namespace")
            && ns != namespace
        {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
        let name = match (meta(&body, "name"), meta(&body, "generateName")) {
            (Some(name), _) if !name.is_empty() => name,
            (_, Some(prefix)) if !prefix.is_empty() => loop {
                let candidate = format!("{prefix}{}", random_suffix());
                if !self.objects.contains_key(&(kind.plural, namespace.to_owned(), candidate.clone())) {
                    break candidate;
                }
            },
            _ => return Err(ApiError::invalid("metadata.name: Required value: name or generateName is required")),
        };
        let key = (kind.plural, namespace.to_owned(), name.clone());
        if self.objects.contains_key(&key) {
            return Err(ApiError::new(409, "AlreadyExists", format!("{} \"{name}\" already exists", kind.plural)));
        }
        if kind.status
            && let Some(map) = body.as_object_mut()
        {
            map.remove("status");
            if kind.plural == "pods" {
                map.insert("status".into(), json!({"phase": "Pending"}));
            }
        }
        if kind.plural == "secrets"
            && let Some(Value::Object(string_data)) = body.as_object_mut().and_then(|m| m.remove("stringData"))
        {
            for (k, v) in string_data {
                body["data"][k] = json!(base64_encode(v.as_str().unwrap_or_default().as_bytes()));
            }
        }
        let m = meta_mut(&mut body);
        for field in ["resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds", "managedFields"] {
            m.remove(field);
        }
        m.insert("name".into(), json!(name));
        m.insert("namespace".into(), json!(namespace));
        m.insert("uid".into(), json!(uuid::Uuid::new_v4().to_string()));
        m.insert("creationTimestamp".into(), json!(now_rfc3339()));
        m.insert("generation".into(), json!(1));
        if m.get("finalizers").and_then(Value::as_array).is_some_and(Vec::is_empty) {
            m.remove("finalizers");
        }
        self.validate(kind, &body)?;
        let rv = self.bump();
        meta_mut(&mut body).insert("resourceVersion".into(), json!(rv.to_string()));
        self.objects.insert(key, body.clone());
        self.record(kind, namespace, rv, None, &body, false);
        Ok(body)
    }

    /// Writes `candidate` over the current object: the status subresource rule, system metadata
    /// kept, the resourceVersion precondition, no-op detection, generation, finalization.
    fn update(
        &mut self,
        kind: &'static Kind,
        key: &Key,
        mut candidate: Value,
        status: bool,
        precondition: Option<String>,
    ) -> Result<Value, ApiError> {
        let current = self.objects.get(key).cloned().ok_or_else(|| ApiError::not_found(kind, &key.2))?;
        if let Some(rv) = precondition
            && Some(&rv) != meta(&current, "resourceVersion").as_ref()
        {
            return Err(ApiError::new(
                409,
                "Conflict",
                format!(
                    "Operation cannot be fulfilled on {} \"{}\": the object has been modified; please apply your \
                     changes to the latest version and try again",
                    kind.plural, key.2
                ),
            ));
        }
        if !candidate.is_object() {
            return Err(ApiError::bad_request("the object must be a JSON object"));
        }
        let mut next = if status {
            let mut next = current.clone();
            match candidate.get("status") {
                Some(s) if !s.is_null() => next["status"] = s.clone(),
                _ => {
                    if let Some(map) = next.as_object_mut() {
                        map.remove("status");
                    }
                }
            }
            next
        } else {
            if kind.status
                && let Some(map) = candidate.as_object_mut()
            {
                match current.get("status") {
                    Some(s) => map.insert("status".into(), s.clone()),
                    None => map.remove("status"),
                };
            }
            candidate
        };
        next["apiVersion"] = json!(kind.api_version);
        next["kind"] = json!(kind.kind);
        let old_meta = current.get("metadata").and_then(Value::as_object).cloned().unwrap_or_default();
        let m = meta_mut(&mut next);
        for field in [
            "name",
            "namespace",
            "uid",
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "generation",
            "resourceVersion",
            "generateName",
        ] {
            match old_meta.get(field) {
                Some(v) => m.insert(field.into(), v.clone()),
                None => m.remove(field),
            };
        }
        if m.get("finalizers").is_some_and(|f| f.as_array().is_none_or(Vec::is_empty)) {
            m.remove("finalizers");
        }
        if next == current {
            return Ok(current);
        }
        if generational(&next) != generational(&current) {
            let generation = current.pointer("/metadata/generation").and_then(Value::as_i64).unwrap_or(0);
            meta_mut(&mut next).insert("generation".into(), json!(generation + 1));
        }
        self.validate(kind, &next)?;
        let rv = self.bump();
        meta_mut(&mut next).insert("resourceVersion".into(), json!(rv.to_string()));
        if meta(&next, "deletionTimestamp").is_some() && finalizers(&next) == 0 {
            self.forget(kind, key, rv, current, &next);
            return Ok(next);
        }
        self.objects.insert(key.clone(), next.clone());
        self.record(kind, &key.1, rv, Some(current), &next, false);
        Ok(next)
    }

    fn replace(
        &mut self,
        kind: &'static Kind,
        namespace: &str,
        name: &str,
        status: bool,
        body: Value,
    ) -> Result<Value, ApiError> {
        let key = (kind.plural, namespace.to_owned(), name.to_owned());
        let precondition = meta(&body, "resourceVersion");
        self.update(kind, &key, body, status, precondition)
    }

    #[allow(clippy::too_many_arguments)]
    fn patch(
        &mut self,
        kind: &'static Kind,
        namespace: &str,
        name: &str,
        status: bool,
        patch_kind: PatchKind,
        body: Value,
        manager: &str,
    ) -> Result<Value, ApiError> {
        let key = (kind.plural, namespace.to_owned(), name.to_owned());
        let Some(current) = self.objects.get(&key).cloned() else {
            if patch_kind == PatchKind::Apply && !status {
                let created = self.create(kind, namespace, body.clone())?;
                self.applied.insert((key, manager.to_owned(), false), body);
                return Ok(created);
            }
            return Err(ApiError::not_found(kind, name));
        };
        let mut precondition = None;
        let candidate = match patch_kind {
            PatchKind::Merge | PatchKind::Strategic => {
                precondition = meta(&body, "resourceVersion");
                let mut next = current.clone();
                merge_patch(&mut next, &body);
                next
            }
            PatchKind::Json => {
                let mut next = current.clone();
                json_patch(&mut next, &body).map_err(ApiError::invalid)?;
                next
            }
            PatchKind::Apply => {
                precondition = meta(&body, "resourceVersion");
                let applied_key = (key.clone(), manager.to_owned(), status);
                let previous = self.applied.get(&applied_key).cloned();
                let mut next = current.clone();
                if status {
                    let intent = body.get("status").cloned().unwrap_or(json!({}));
                    let previous = previous.as_ref().and_then(|p| p.get("status"));
                    if !next.get("status").is_some_and(Value::is_object) {
                        next["status"] = json!({});
                    }
                    if let Some(target) = next.get_mut("status") {
                        apply_intent(target, &intent, previous);
                    }
                } else {
                    let mut intent = body.clone();
                    if let Some(map) = intent.as_object_mut() {
                        map.remove("status");
                    }
                    apply_intent(&mut next, &intent, previous.as_ref());
                }
                self.applied.insert(applied_key, body);
                next
            }
        };
        self.update(kind, &key, candidate, status, precondition)
    }

    fn delete(
        &mut self,
        kind: &'static Kind,
        namespace: &str,
        name: &str,
        options: &DeleteOptions,
    ) -> Result<Value, ApiError> {
        let key = (kind.plural, namespace.to_owned(), name.to_owned());
        let current = self.objects.get(&key).cloned().ok_or_else(|| ApiError::not_found(kind, name))?;
        let conflict = |what: &str| {
            ApiError::new(409, "Conflict", format!("Precondition failed: {what} does not match for {name}"))
        };
        if options.uid.is_some() && options.uid != meta(&current, "uid") {
            return Err(conflict("UID"));
        }
        if options.resource_version.is_some() && options.resource_version != meta(&current, "resourceVersion") {
            return Err(conflict("ResourceVersion"));
        }
        let bound_pod = kind.plural == "pods"
            && current.pointer("/spec/nodeName").and_then(Value::as_str).is_some_and(|n| !n.is_empty());
        let graceful = bound_pod && options.grace != Some(0);
        if finalizers(&current) > 0 || graceful {
            if meta(&current, "deletionTimestamp").is_some() {
                return Ok(current);
            }
            let grace = if graceful {
                options
                    .grace
                    .or_else(|| current.pointer("/spec/terminationGracePeriodSeconds").and_then(Value::as_i64))
                    .unwrap_or(30)
            } else {
                0
            };
            let mut next = current.clone();
            let rv = self.bump();
            let m = meta_mut(&mut next);
            m.insert("deletionTimestamp".into(), json!(now_rfc3339()));
            m.insert("deletionGracePeriodSeconds".into(), json!(grace));
            m.insert("resourceVersion".into(), json!(rv.to_string()));
            self.objects.insert(key, next.clone());
            self.record(kind, namespace, rv, Some(current), &next, false);
            return Ok(next);
        }
        self.remove(kind, &key, current)
    }

    fn remove(&mut self, kind: &'static Kind, key: &Key, current: Value) -> Result<Value, ApiError> {
        let rv = self.bump();
        let mut last = current.clone();
        meta_mut(&mut last).insert("resourceVersion".into(), json!(rv.to_string()));
        self.applied.retain(|(k, _, _), _| k != key);
        self.forget(kind, key, rv, current, &last);
        Ok(last)
    }

    /// Takes the object away for good (`last` as it was at the end) and its dependents with it.
    fn forget(&mut self, kind: &'static Kind, key: &Key, rv: u64, current: Value, last: &Value) {
        self.objects.remove(key);
        self.record(kind, &key.1, rv, Some(current), last, true);
        self.collect_dependents(last);
    }

    /// Puts a change in the log (for the watches).
    fn record(
        &mut self,
        kind: &'static Kind,
        namespace: &str,
        rv: u64,
        before: Option<Value>,
        after: &Value,
        deleted: bool,
    ) {
        let namespace = namespace.to_owned();
        self.log.push(Change { rv, plural: kind.plural, namespace, before, after: after.clone(), deleted });
    }

    /// Background garbage collection: objects owned by the one just removed go too.
    fn collect_dependents(&mut self, owner: &Value) {
        let Some(uid) = meta(owner, "uid") else { return };
        let dependents: Vec<Key> = self
            .objects
            .iter()
            .filter(|(_, obj)| {
                obj.pointer("/metadata/ownerReferences")
                    .and_then(Value::as_array)
                    .is_some_and(|refs| refs.iter().any(|r| r.get("uid").and_then(Value::as_str) == Some(&uid)))
            })
            .map(|(key, _)| key.clone())
            .collect();
        for (plural, ns, name) in dependents {
            if let Some(kind) = kind_of(plural) {
                let _ = self.delete(kind, &ns, &name, &DeleteOptions::default());
            }
        }
    }
}

/// RFC 7386 JSON merge patch.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = json!({});
    }
    let Value::Object(map) = target else { return };
    for (key, value) in patch {
        if value.is_null() {
            map.remove(key);
        } else {
            merge_patch(map.entry(key.clone()).or_insert(Value::Null), value);
        }
    }
}

/// Server-side apply, for one manager: sets what `intent` says, and removes what `previous`
/// (the manager's last intent) said and `intent` no longer does. Objects merge; anything else
/// (lists included) is replaced whole.
pub fn apply_intent(target: &mut Value, intent: &Value, previous: Option<&Value>) {
    let (Value::Object(map), Value::Object(wanted)) = (&mut *target, intent) else {
        *target = intent.clone();
        return;
    };
    if let Some(Value::Object(before)) = previous {
        for key in before.keys() {
            if !wanted.contains_key(key) {
                map.remove(key);
            }
        }
    }
    for (key, value) in wanted {
        if value.is_null() {
            map.remove(key);
            continue;
        }
        let before = previous.and_then(|p| p.get(key));
        match map.get_mut(key) {
            Some(slot) if slot.is_object() && value.is_object() => apply_intent(slot, value, before),
            _ => {
                map.insert(key.clone(), value.clone());
            }
        }
    }
}

/// RFC 6902 JSON patch (the `json-patch` crate). A `test` of a missing path against `null`
/// passes, as the API server's does (kube-runtime's finalizer guards its first finalizer so).
pub fn json_patch(doc: &mut Value, ops: &Value) -> Result<(), String> {
    let mut patch: json_patch::Patch =
        serde_json::from_value(ops.clone()).map_err(|e| format!("not a JSON patch: {e}"))?;
    patch.0.retain(|op| match op {
        json_patch::PatchOperation::Test(test) => !(test.value.is_null() && doc.pointer(test.path.as_str()).is_none()),
        _ => true,
    });
    json_patch::patch(doc, &patch).map_err(|e| e.to_string())
}

/// A label selector.
#[derive(Clone, Debug, Default)]
pub struct Selector(Vec<Requirement>);

#[derive(Clone, Debug)]
enum Requirement {
    Equals(String, String),
    NotEquals(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
}

impl Selector {
    /// Parses `a=b,c!=d,e in (f,g),h,!i`.
    pub fn parse(text: &str) -> Result<Selector, String> {
        let mut parts = Vec::new();
        let (mut depth, mut start) = (0, 0);
        for (i, c) in text.char_indices() {
            match c {
                '(' => depth += 1,
                ')' => depth -= 1,
                ',' if depth == 0 => {
                    parts.push(&text[start..i]);
                    start = i + 1;
                }
                _ => {}
            }
        }
        parts.push(&text[start..]);
        let mut requirements = Vec::new();
        for part in parts.into_iter().map(str::trim).filter(|p| !p.is_empty()) {
            let set = |rest: &str| -> Result<Vec<String>, String> {
                let inner = rest
                    .trim()
                    .strip_prefix('(')
                    .and_then(|r| r.strip_suffix(')'))
                    .ok_or_else(|| format!("invalid set in {part:?}"))?;
                Ok(inner.split(',').map(|v| v.trim().to_owned()).collect())
            };
            let requirement = if let Some((k, v)) = part.split_once("!=") {
                Requirement::NotEquals(k.trim().into(), v.trim().into())
            } else if let Some((k, v)) = part.split_once("==").or_else(|| part.split_once('=')) {
                Requirement::Equals(k.trim().into(), v.trim().into())
            } else if let Some((k, rest)) = part.split_once(" notin ") {
                Requirement::NotIn(k.trim().into(), set(rest)?)
            } else if let Some((k, rest)) = part.split_once(" in ") {
                Requirement::In(k.trim().into(), set(rest)?)
            } else if let Some(k) = part.strip_prefix('!') {
                Requirement::NotExists(k.trim().into())
            } else if part.chars().all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c)) {
                Requirement::Exists(part.into())
            } else {
                return Err(format!("unable to parse requirement {part:?}"));
            };
            requirements.push(requirement);
        }
        Ok(Selector(requirements))
    }

    /// True when the object's labels satisfy every requirement.
    pub fn matches(&self, obj: &Value) -> bool {
        let labels = obj.pointer("/metadata/labels").and_then(Value::as_object);
        let label = |k: &str| labels.and_then(|l| l.get(k)).and_then(Value::as_str);
        self.0.iter().all(|r| match r {
            Requirement::Equals(k, v) => label(k) == Some(v.as_str()),
            Requirement::NotEquals(k, v) => label(k) != Some(v.as_str()),
            Requirement::In(k, vs) => label(k).is_some_and(|l| vs.iter().any(|v| v == l)),
            Requirement::NotIn(k, vs) => label(k).is_none_or(|l| vs.iter().all(|v| v != l)),
            Requirement::Exists(k) => label(k).is_some(),
            Requirement::NotExists(k) => label(k).is_none(),
        })
    }
}

/// `metadata.name=…` / `metadata.namespace=…` field selectors.
#[derive(Clone, Debug, Default)]
struct FieldSelector(Vec<(String, String)>);

impl FieldSelector {
    fn parse(text: &str) -> Result<FieldSelector, String> {
        let mut out = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (k, v) = part
                .split_once("==")
                .or_else(|| part.split_once('='))
                .ok_or_else(|| format!("unsupported field selector {part:?}"))?;
            let field = match k.trim() {
                "metadata.name" => "name",
                "metadata.namespace" => "namespace",
                other => return Err(format!("field label not supported: {other}")),
            };
            out.push((field.to_owned(), v.trim().to_owned()));
        }
        Ok(FieldSelector(out))
    }

    fn matches(&self, obj: &Value) -> bool {
        self.0.iter().all(|(field, value)| meta(obj, field).as_deref() == Some(value.as_str()))
    }
}

/// What a request is about.
struct Target {
    kind: &'static Kind,
    namespace: Option<String>,
    name: Option<String>,
    status: bool,
}

fn parse_path(path: &str) -> Result<Target, ApiError> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let not_found = || ApiError::new(404, "NotFound", "the server could not find the requested resource");
    let (prefix_len, rest) = match segments.as_slice() {
        ["api", "v1", rest @ ..] => (2, rest),
        ["apis", _, _, rest @ ..] => (3, rest),
        _ => return Err(not_found()),
    };
    let prefix = segments[..prefix_len].join("/");
    let (namespace, rest) = match rest {
        ["namespaces", ns, rest @ ..] if !rest.is_empty() => (Some((*ns).to_owned()), rest),
        rest => (None, rest),
    };
    let (plural, name, sub) = match rest {
        [plural] => (*plural, None, None),
        [plural, name] if namespace.is_some() => (*plural, Some(*name), None),
        [plural, name, sub] if namespace.is_some() => (*plural, Some(*name), Some(*sub)),
        _ => return Err(not_found()),
    };
    let kind = KINDS.iter().find(|k| k.plural == plural && k.prefix == prefix).ok_or_else(not_found)?;
    let status = match sub {
        None => false,
        Some("status") if kind.status => true,
        Some(_) => return Err(not_found()),
    };
    Ok(Target { kind, namespace, name: name.map(str::to_owned), status })
}

async fn handle(shared: Arc<Shared>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path().to_owned();
    {
        let mut store = shared.store.lock().unwrap_or_else(|p| p.into_inner());
        let query = parts.uri.query().map(|q| format!("?{q}")).unwrap_or_default();
        store.requests.push(format!("{} {path}{query}", parts.method));
    }
    if path == "/version" {
        return axum::Json(
            json!({"major": "1", "minor": "35", "gitVersion": "v1.35.0-stand-in", "platform": "linux/amd64"}),
        )
        .into_response();
    }
    let query: HashMap<String, String> =
        Query::<HashMap<String, String>>::try_from_uri(&parts.uri).map(|q| q.0).unwrap_or_default();
    let body = match axum::body::to_bytes(body, 16 << 20).await {
        Ok(bytes) => bytes,
        Err(err) => return ApiError::bad_request(format!("reading the body: {err}")).into_response(),
    };
    match route(&shared, &parts.method, &path, &query, &parts.headers, body) {
        Ok(Reply::Object(code, value)) => {
            let code = StatusCode::from_u16(code).unwrap_or(StatusCode::OK);
            (code, [(header::CONTENT_TYPE, "application/json")], value.to_string()).into_response()
        }
        Ok(Reply::Watch(watch)) => watch_response(shared, watch),
        Err(err) => err.into_response(),
    }
}

enum Reply {
    Object(u16, Value),
    Watch(WatchRequest),
}

struct WatchRequest {
    kind: &'static Kind,
    namespace: Option<String>,
    labels: Selector,
    fields: FieldSelector,
    from: Option<u64>,
    timeout: Duration,
    bookmarks: bool,
    initial_events: bool,
}

fn parse_body(body: &Bytes) -> Result<Value, ApiError> {
    if body.is_empty() {
        return Ok(Value::Null);
    }
    // Apply bodies are YAML; JSON is YAML too.
    serde_json::from_slice(body)
        .or_else(|_| serde_yaml::from_slice::<Value>(body))
        .map_err(|err| ApiError::bad_request(format!("the body is not JSON or YAML: {err}")))
}

fn route(
    shared: &Shared,
    method: &Method,
    path: &str,
    query: &HashMap<String, String>,
    headers: &HeaderMap,
    body: Bytes,
) -> Result<Reply, ApiError> {
    let target = parse_path(path)?;
    let labels =
        Selector::parse(query.get("labelSelector").map_or("", String::as_str)).map_err(ApiError::bad_request)?;
    let fields =
        FieldSelector::parse(query.get("fieldSelector").map_or("", String::as_str)).map_err(ApiError::bad_request)?;
    let flag = |name: &str| query.get(name).is_some_and(|v| v == "true" || v == "1");
    let kind = target.kind;
    let write = |op: &mut dyn FnMut(&mut Store) -> Result<Value, ApiError>| -> Result<Value, ApiError> {
        let (result, rv) = {
            let mut store = shared.store.lock().unwrap_or_else(|p| p.into_inner());
            let result = op(&mut store);
            (result, store.rv)
        };
        shared.tick.send_replace(rv);
        result
    };
    match (method.clone(), &target.name) {
        (Method::GET, None) if flag("watch") => {
            let from = match query.get("resourceVersion").map(String::as_str) {
                None | Some("") | Some("0") => None,
                Some(rv) => Some(
                    rv.parse::<u64>().map_err(|_| ApiError::bad_request(format!("invalid resourceVersion {rv:?}")))?,
                ),
            };
            let timeout = query.get("timeoutSeconds").and_then(|t| t.parse::<u64>().ok()).unwrap_or(1800);
            Ok(Reply::Watch(WatchRequest {
                kind,
                namespace: target.namespace,
                labels,
                fields,
                from,
                timeout: Duration::from_secs(timeout),
                bookmarks: flag("allowWatchBookmarks"),
                initial_events: flag("sendInitialEvents"),
            }))
        }
        (Method::GET, None) => {
            let store = shared.store.lock().unwrap_or_else(|p| p.into_inner());
            let items: Vec<Value> = store
                .objects
                .iter()
                .filter(|((p, ns, _), obj)| {
                    *p == kind.plural
                        && target.namespace.as_ref().is_none_or(|n| n == ns)
                        && labels.matches(obj)
                        && fields.matches(obj)
                })
                .map(|(_, obj)| obj.clone())
                .collect();
            Ok(Reply::Object(
                200,
                json!({
                    "apiVersion": kind.api_version, "kind": format!("{}List", kind.kind),
                    "metadata": {"resourceVersion": store.rv.to_string()}, "items": items,
                }),
            ))
        }
        (Method::POST, None) => {
            let namespace =
                target.namespace.ok_or_else(|| ApiError::new(405, "MethodNotAllowed", "create needs a namespace"))?;
            let body = parse_body(&body)?;
            write(&mut |store| store.create(kind, &namespace, body.clone())).map(|v| Reply::Object(201, v))
        }
        (Method::GET, Some(name)) => {
            let namespace = target.namespace.unwrap_or_default();
            let store = shared.store.lock().unwrap_or_else(|p| p.into_inner());
            store
                .objects
                .get(&(kind.plural, namespace, name.clone()))
                .cloned()
                .map(|v| Reply::Object(200, v))
                .ok_or_else(|| ApiError::not_found(kind, name))
        }
        (Method::PUT, Some(name)) => {
            let namespace = target.namespace.unwrap_or_default();
            let body = parse_body(&body)?;
            write(&mut |store| store.replace(kind, &namespace, name, target.status, body.clone()))
                .map(|v| Reply::Object(200, v))
        }
        (Method::PATCH, Some(name)) => {
            let namespace = target.namespace.unwrap_or_default();
            let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
            let patch_kind = match content_type.split(';').next().unwrap_or_default().trim() {
                "application/merge-patch+json" => PatchKind::Merge,
                "application/strategic-merge-patch+json" => PatchKind::Strategic,
                "application/json-patch+json" => PatchKind::Json,
                "application/apply-patch+yaml" => PatchKind::Apply,
                other => {
                    return Err(ApiError::new(
                        415,
                        "UnsupportedMediaType",
                        format!("the body of the request was in an unknown format: {other}"),
                    ));
                }
            };
            let manager = query.get("fieldManager").cloned().unwrap_or_default();
            if patch_kind == PatchKind::Apply && manager.is_empty() {
                return Err(ApiError::bad_request("PATCH with an apply patch requires fieldManager"));
            }
            let body = parse_body(&body)?;
            let existed = shared.store.lock().unwrap_or_else(|p| p.into_inner()).objects.contains_key(&(
                kind.plural,
                namespace.clone(),
                name.clone(),
            ));
            write(&mut |store| store.patch(kind, &namespace, name, target.status, patch_kind, body.clone(), &manager))
                .map(|v| Reply::Object(if existed { 200 } else { 201 }, v))
        }
        (Method::DELETE, Some(name)) if !target.status => {
            let namespace = target.namespace.unwrap_or_default();
            let body = parse_body(&body)?;
            let grace = query
                .get("gracePeriodSeconds")
                .and_then(|g| g.parse().ok())
                .or_else(|| body.get("gracePeriodSeconds").and_then(Value::as_i64));
            let options = DeleteOptions {
                grace,
                uid: body.pointer("/preconditions/uid").and_then(Value::as_str).map(str::to_owned),
                resource_version: body
                    .pointer("/preconditions/resourceVersion")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            };
            write(&mut |store| store.delete(kind, &namespace, name, &options)).map(|v| Reply::Object(200, v))
        }
        _ => Err(ApiError::new(405, "MethodNotAllowed", format!("{method} is not supported here"))),
    }
}

fn event_line(type_: &str, object: &Value) -> Bytes {
    let mut line = serde_json::to_vec(&json!({"type": type_, "object": object})).unwrap_or_default();
    line.push(b'\n');
    Bytes::from(line)
}

fn bookmark(kind: &Kind, rv: u64, initial_end: bool) -> Bytes {
    let mut metadata = json!({"resourceVersion": rv.to_string()});
    if initial_end {
        metadata["annotations"] = json!({"k8s.io/initial-events-end": "true"});
    }
    event_line("BOOKMARK", &json!({"apiVersion": kind.api_version, "kind": kind.kind, "metadata": metadata}))
}

struct WatchState {
    shared: Arc<Shared>,
    watch: WatchRequest,
    cursor: usize,
    pending: VecDeque<Bytes>,
    deadline: tokio::time::Instant,
    tick: tokio::sync::watch::Receiver<u64>,
}

impl WatchState {
    fn selects(&self, namespace: &str, obj: &Value) -> bool {
        self.watch.namespace.as_deref().is_none_or(|n| n == namespace)
            && self.watch.labels.matches(obj)
            && self.watch.fields.matches(obj)
    }

    /// Queues the changes after the cursor that this watch sees; returns the resourceVersion
    /// everything was seen up to.
    fn collect(&mut self) -> u64 {
        let shared = self.shared.clone();
        let store = shared.store.lock().unwrap_or_else(|p| p.into_inner());
        for change in &store.log[self.cursor.min(store.log.len())..] {
            if change.plural != self.watch.kind.plural {
                continue;
            }
            let was = change.before.as_ref().is_some_and(|b| self.selects(&change.namespace, b));
            let is = self.selects(&change.namespace, &change.after);
            let type_ = match (change.deleted, was, is) {
                (true, true, _) => "DELETED",
                (true, false, _) => continue,
                (false, true, true) => "MODIFIED",
                (false, false, true) => "ADDED",
                (false, true, false) => "DELETED",
                (false, false, false) => continue,
            };
            self.pending.push_back(event_line(type_, &change.after));
        }
        self.cursor = store.log.len();
        store.rv
    }
}

fn watch_response(shared: Arc<Shared>, watch: WatchRequest) -> Response {
    let tick = shared.tick.subscribe();
    let deadline = tokio::time::Instant::now() + watch.timeout;
    let mut state = WatchState { shared: shared.clone(), watch, cursor: 0, pending: VecDeque::new(), deadline, tick };
    {
        let store = shared.store.lock().unwrap_or_else(|p| p.into_inner());
        let kind = state.watch.kind;
        match state.watch.from {
            Some(rv) if !state.watch.initial_events => {
                state.cursor = store.log.partition_point(|c| c.rv <= rv);
            }
            _ => {
                for ((plural, ns, _), obj) in &store.objects {
                    if *plural == kind.plural && state.selects(ns, obj) {
                        state.pending.push_back(event_line("ADDED", obj));
                    }
                }
                state.cursor = store.log.len();
                if state.watch.initial_events {
                    state.pending.push_back(bookmark(kind, store.rv, true));
                }
            }
        }
    }
    let seen = state.collect();
    if state.watch.bookmarks {
        state.pending.push_back(bookmark(state.watch.kind, seen.max(state.watch.from.unwrap_or(0)), false));
    }
    let stream = futures_util::stream::unfold(state, |mut state| async move {
        loop {
            if let Some(line) = state.pending.pop_front() {
                return Some((Ok::<Bytes, std::convert::Infallible>(line), state));
            }
            state.tick.mark_unchanged();
            state.collect();
            if !state.pending.is_empty() {
                continue;
            }
            match tokio::time::timeout_at(state.deadline, state.tick.changed()).await {
                Ok(Ok(())) => {}
                _ => return None,
            }
        }
    });
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from_stream(stream))
        .unwrap_or_else(|_| ApiError::new(500, "InternalError", "building the watch response").into_response())
}
