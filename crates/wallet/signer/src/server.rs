//! The signer process: it holds the key, listens on two Unix sockets (mode 0600) — one for
//! agents, one for the owner's approvals — and decides every signing request with the
//! [`Policy`], recording each decision in the [`AuditLog`] before answering.
//!
//! Deciding, reserving the budget and logging happen under one lock, so concurrent requests
//! cannot together overspend: each sees the spends of all decided before it. A request held
//! for approval keeps its reservation until it is approved, rejected or times out.

use std::{
    collections::BTreeMap,
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
    sync::{Arc, Mutex, MutexGuard},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use alloy_primitives::Address;
use serde_json::{Value, json};
use tokio::{
    io::{AsyncBufReadExt, AsyncRead, AsyncWriteExt, BufReader},
    net::{UnixListener, UnixStream},
    sync::oneshot,
    task::JoinHandle,
};
use wallet::PrivateKey;

use crate::{
    audit::{AuditError, AuditLog, Entry},
    policy::{Decision, History, Policy, Spend},
    protocol::{
        AdminRequest, MAX_REQUEST, Prepared, Request, Response, Unsignable, parse_admin_request,
        parse_request, prepare,
    },
};

/// How to run a signer.
#[derive(Debug)]
pub struct Config {
    /// The owner's policy.
    pub policy: Policy,
    /// The key (decrypted from the keystore by the caller).
    pub key: PrivateKey,
    /// The agents' socket.
    pub socket: PathBuf,
    /// The owner's socket, for approvals.
    pub admin_socket: PathBuf,
    /// The audit log file.
    pub audit_log: PathBuf,
}

/// Why the signer could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// A socket could not be bound.
    #[error("binding {path}: {source}")]
    Bind {
        /// The socket path.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The audit log is unreadable or broken.
    #[error(transparent)]
    Audit(#[from] AuditError),
}

/// A running signer; dropping it stops it and removes its sockets.
#[derive(Debug)]
pub struct Handle {
    address: Address,
    tasks: Vec<JoinHandle<()>>,
    sockets: Vec<PathBuf>,
}

impl Handle {
    /// The address of the key it signs with.
    pub fn address(&self) -> Address {
        self.address
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
        for s in &self.sockets {
            let _ = std::fs::remove_file(s);
        }
    }
}

struct Held {
    summary: Value,
    since: u64,
    answer: oneshot::Sender<bool>,
}

struct Inner {
    history: History,
    next_id: u64,
    held: BTreeMap<u64, Held>,
    audit: AuditLog,
}

struct State {
    policy: Policy,
    key: PrivateKey,
    address: Address,
    inner: Mutex<Inner>,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Starts a signer on `config`'s sockets. Budgets continue from the audit log: what was
/// signed in the last day still counts after a restart.
pub async fn serve(config: Config) -> Result<Handle, ServeError> {
    let (audit, entries) = AuditLog::open(&config.audit_log)?;
    let (history, next_id) = replay(&entries);
    let address = config.key.address();
    let state = Arc::new(State {
        policy: config.policy,
        key: config.key,
        address,
        inner: Mutex::new(Inner {
            history,
            next_id,
            held: BTreeMap::new(),
            audit,
        }),
    });
    let agents = bind(&config.socket)?;
    let admin = bind(&config.admin_socket)?;
    let s = state.clone();
    let agent_task = tokio::spawn(accept(agents, move |stream| {
        let s = s.clone();
        async move { serve_agent(s, stream).await }
    }));
    let s = state.clone();
    let admin_task = tokio::spawn(accept(admin, move |stream| {
        let s = s.clone();
        async move { serve_admin(s, stream).await }
    }));
    tracing::info!(%address, socket = %config.socket.display(), admin = %config.admin_socket.display(), "signer listening");
    Ok(Handle {
        address,
        tasks: vec![agent_task, admin_task],
        sockets: vec![config.socket, config.admin_socket],
    })
}

/// Rebuilds the budgets from the log's `signed` entries of the last day.
fn replay(entries: &[Entry]) -> (History, u64) {
    let mut history = History::default();
    let mut next_id = 0;
    let horizon = now().saturating_sub(crate::policy::DAY);
    for e in entries {
        if let Some(id) = e.event["id"].as_u64() {
            next_id = next_id.max(id + 1);
        }
        if e.event["kind"] != "signed" || e.time < horizon {
            continue;
        }
        history.note_request(e.time);
        let spends: Vec<Spend> =
            serde_json::from_value(e.event["request"]["spends"].clone()).unwrap_or_default();
        history.record(e.event["id"].as_u64().unwrap_or(u64::MAX), e.time, &spends);
    }
    (history, next_id)
}

fn bind(path: &Path) -> Result<UnixListener, ServeError> {
    let err = |source| ServeError::Bind {
        path: path.to_owned(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(err)?;
    }
    // A socket file left by a signer that was killed: connecting to it fails, so it is stale.
    if path.exists() {
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            return Err(err(std::io::Error::new(
                std::io::ErrorKind::AddrInUse,
                "another signer is listening there",
            )));
        }
        std::fs::remove_file(path).map_err(err)?;
    }
    let listener = UnixListener::bind(path).map_err(err)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(err)?;
    Ok(listener)
}

async fn accept<F, Fut>(listener: UnixListener, handle: F)
where
    F: Fn(UnixStream) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                tokio::spawn(handle(stream));
            }
            Err(e) => {
                tracing::warn!(error = %e, "signer accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// Reads one line of at most [`MAX_REQUEST`] bytes; `Ok(None)` at end of stream,
/// `Err(())` for an oversized line.
async fn read_line<R: AsyncRead + Unpin>(
    reader: &mut BufReader<R>,
    buf: &mut Vec<u8>,
) -> std::io::Result<Option<bool>> {
    use tokio::io::AsyncReadExt;
    buf.clear();
    let n = (&mut *reader)
        .take(MAX_REQUEST as u64 + 1)
        .read_until(b'\n', buf)
        .await?;
    if n == 0 {
        return Ok(None);
    }
    if buf.last() == Some(&b'\n') {
        buf.pop();
        return Ok(Some(true));
    }
    Ok(Some(buf.len() <= MAX_REQUEST))
}

async fn write(stream: &mut (impl AsyncWriteExt + Unpin), response: &Response) -> bool {
    let mut line = serde_json::to_vec(response).unwrap_or_default();
    line.push(b'\n');
    stream.write_all(&line).await.is_ok()
}

async fn serve_agent(state: Arc<State>, stream: UnixStream) {
    let (read, mut write_half) = stream.into_split();
    let mut reader = BufReader::new(read);
    let mut buf = Vec::new();
    loop {
        let response = match read_line(&mut reader, &mut buf).await {
            Ok(None) | Err(_) => return,
            Ok(Some(false)) => {
                let r = Response::error(
                    "bad_request",
                    None,
                    format!("request longer than {MAX_REQUEST} bytes"),
                );
                let _ = write(&mut write_half, &r).await;
                return;
            }
            Ok(Some(true)) => match parse_request(&buf) {
                Err(e) => Response::error("bad_request", None, e),
                Ok(request) => state.clone().handle(request).await,
            },
        };
        if !write(&mut write_half, &response).await {
            return;
        }
    }
}

impl State {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn handle(self: Arc<Self>, request: Request) -> Response {
        let prepared = match prepare(&request, self.address) {
            None => return Response::Ok(json!({ "address": self.address })),
            Some(Ok(p)) => p,
            Some(Err(u)) => {
                let (rule, message) = match u {
                    Unsignable::WrongSigner(m) => ("from", m),
                    Unsignable::Unrecognised(m) => ("allowed_typed_data", m),
                };
                let mut inner = self.lock();
                inner.history.note_request(now());
                let _ = inner.audit.append(
                    now(),
                    json!({"kind": "denied", "rule": rule, "message": message}),
                );
                return Response::error("denied", Some(rule.into()), message);
            }
        };
        let (id, answer) = {
            let mut inner = self.lock();
            let t = now();
            let decision = self.policy.evaluate(&inner.history, &prepared.intent, t);
            inner.history.note_request(t);
            match decision {
                Decision::Deny(d) => {
                    let event = json!({
                        "kind": "denied",
                        "rule": d.rule.to_string(),
                        "message": d.message,
                        "request": prepared.summary,
                    });
                    if let Err(e) = inner.audit.append(t, event) {
                        return internal(e);
                    }
                    return Response::error("denied", Some(d.rule.to_string()), d.to_string());
                }
                Decision::Allow => return self.sign(&mut inner, None, &prepared, t),
                Decision::Hold => {
                    let id = inner.next_id;
                    inner.next_id += 1;
                    inner.history.record(id, t, &prepared.intent.spends);
                    let event = json!({"kind": "held", "id": id, "request": prepared.summary});
                    if let Err(e) = inner.audit.append(t, event) {
                        inner.history.release(id);
                        return internal(e);
                    }
                    let (tx, rx) = oneshot::channel();
                    inner.held.insert(
                        id,
                        Held {
                            summary: prepared.summary.clone(),
                            since: t,
                            answer: tx,
                        },
                    );
                    tracing::info!(
                        id,
                        "signing request held for approval: `symbiont wallet approve {id}`"
                    );
                    (id, rx)
                }
            }
        };
        let timeout = Duration::from_secs(self.policy.approval_timeout_secs);
        let approved = tokio::time::timeout(timeout, answer).await;
        let mut inner = self.lock();
        let t = now();
        match approved {
            Ok(Ok(true)) => self.sign(&mut inner, Some(id), &prepared, t),
            outcome => {
                inner.held.remove(&id);
                inner.history.release(id);
                let (kind, why) = match outcome {
                    Ok(Ok(_)) => ("rejected", "rejected by the owner"),
                    _ => ("expired", "not approved within approval_timeout_secs"),
                };
                let _ = inner.audit.append(t, json!({"kind": kind, "id": id}));
                Response::error(
                    "denied",
                    Some("approve_above".into()),
                    format!("denied by policy rule `approve_above`: request {id} {why}"),
                )
            }
        }
    }

    /// Signs `prepared`, after logging it. `held` is the id of an approved held request whose
    /// spends are already reserved.
    fn sign(&self, inner: &mut Inner, held: Option<u64>, prepared: &Prepared, t: u64) -> Response {
        let id = held.unwrap_or_else(|| {
            let id = inner.next_id;
            inner.next_id += 1;
            inner.history.record(id, t, &prepared.intent.spends);
            id
        });
        let signature = match self.key.sign_hash(&prepared.hash) {
            Ok(s) => s,
            Err(e) => {
                inner.history.release(id);
                return Response::error("internal", None, e.to_string());
            }
        };
        let event = json!({
            "kind": "signed",
            "id": id,
            "hash": prepared.hash,
            "request": prepared.summary,
        });
        if let Err(e) = inner.audit.append(t, event) {
            inner.history.release(id);
            return internal(e);
        }
        Response::Ok(json!({ "signature": signature.to_hex(), "id": id }))
    }
}

fn internal(e: AuditError) -> Response {
    tracing::error!(error = %e, "audit log write failed; not signing");
    Response::error(
        "internal",
        None,
        format!("audit log write failed, not signed: {e}"),
    )
}

async fn serve_admin(state: Arc<State>, stream: UnixStream) {
    let (read, mut write_half) = stream.into_split();
    let mut reader = BufReader::new(read);
    let mut buf = Vec::new();
    loop {
        let response = match read_line(&mut reader, &mut buf).await {
            Ok(None) | Err(_) | Ok(Some(false)) => return,
            Ok(Some(true)) => match parse_admin_request(&buf) {
                Err(e) => Response::error("bad_request", None, e),
                Ok(request) => state.admin(request),
            },
        };
        if !write(&mut write_half, &response).await {
            return;
        }
    }
}

impl State {
    fn admin(&self, request: AdminRequest) -> Response {
        let mut inner = self.lock();
        match request {
            AdminRequest::Pending {} => {
                let held: Vec<Value> = inner
                    .held
                    .iter()
                    .map(|(id, h)| json!({"id": id, "since": h.since, "request": h.summary}))
                    .collect();
                Response::Ok(json!({ "pending": held }))
            }
            AdminRequest::Approve { id } | AdminRequest::Reject { id } => {
                let approve = matches!(request, AdminRequest::Approve { .. });
                let Some(held) = inner.held.remove(&id) else {
                    return Response::error(
                        "not_found",
                        None,
                        format!("no request {id} is waiting for approval"),
                    );
                };
                if approve {
                    let _ = inner
                        .audit
                        .append(now(), json!({"kind": "approved", "id": id}));
                }
                // The waiting request logs the outcome (signed, or rejected) itself.
                let _ = held.answer.send(approve);
                Response::Ok(json!({ "id": id, "approved": approve }))
            }
        }
    }
}
