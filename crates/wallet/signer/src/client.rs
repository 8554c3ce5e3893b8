//! Clients of a running signer: [`Client`] for agents (it never sees a key) and
//! [`AdminClient`] for the owner's approvals. Each request opens its own connection, so
//! concurrent requests do not queue behind one another (or behind a held one).

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use alloy_primitives::Address;
use alloy_sol_types::Eip712Domain;
use ledger::{
    Tx,
    tx::{Signature, SignedTx},
};
use serde_json::Value;
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::UnixStream,
};
use x402_client::{Signer, SignerError, signer::BoxFuture};
use x402_types::exact::Authorization;

use crate::protocol::{AdminRequest, ErrorBody, Request, Response};

/// Why a signer request failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ClientError {
    /// The signer could not be reached or answered nonsense.
    #[error("signer at {socket}: {message}")]
    Transport {
        /// Its socket.
        socket: String,
        /// What went wrong.
        message: String,
    },
    /// The policy refused: `rule` names the policy field.
    #[error("{message}")]
    Denied {
        /// The rule, e.g. `assets.USD.per_hour`.
        rule: String,
        /// The signer's explanation (it names the rule).
        message: String,
    },
    /// Any other refusal (`bad_request`, `not_found`, `internal`).
    #[error("signer refused ({code}): {message}")]
    Refused {
        /// The error code.
        code: String,
        /// The explanation.
        message: String,
    },
}

async fn call(socket: &Path, request: &impl serde::Serialize) -> Result<Value, ClientError> {
    let transport = |message: String| ClientError::Transport {
        socket: socket.display().to_string(),
        message,
    };
    let mut stream = UnixStream::connect(socket)
        .await
        .map_err(|e| transport(format!("connect: {e}")))?;
    let mut line = serde_json::to_vec(request).map_err(|e| transport(e.to_string()))?;
    line.push(b'\n');
    stream
        .write_all(&line)
        .await
        .map_err(|e| transport(format!("write: {e}")))?;
    let mut reader = BufReader::new(stream);
    let mut answer = Vec::new();
    reader
        .read_until(b'\n', &mut answer)
        .await
        .map_err(|e| transport(format!("read: {e}")))?;
    match serde_json::from_slice::<Response>(&answer) {
        Ok(Response::Ok(v)) => Ok(v),
        Ok(Response::Error(ErrorBody {
            code,
            rule,
            message,
        })) => Err(match (code.as_str(), rule) {
            ("denied", Some(rule)) => ClientError::Denied { rule, message },
            _ => ClientError::Refused { code, message },
        }),
        Err(_) if answer.is_empty() => Err(transport("closed the connection".into())),
        Err(e) => Err(transport(format!("unreadable answer: {e}"))),
    }
}

fn signature(v: &Value, socket: &Path) -> Result<[u8; 65], ClientError> {
    v["signature"]
        .as_str()
        .and_then(|s| wallet::Signature::from_hex(s).ok())
        .map(|s| s.to_bytes())
        .ok_or_else(|| ClientError::Transport {
            socket: socket.display().to_string(),
            message: "answer without a signature".into(),
        })
}

/// An agent's handle on its signer.
#[derive(Debug, Clone)]
pub struct Client {
    socket: PathBuf,
    address: Address,
}

impl Client {
    /// Connects to the signer at `socket` and learns its address.
    pub async fn connect(socket: impl Into<PathBuf>) -> Result<Self, ClientError> {
        let socket = socket.into();
        let v = call(&socket, &Request::Address {}).await?;
        let address = v["address"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| ClientError::Transport {
                socket: socket.display().to_string(),
                message: "answer without an address".into(),
            })?;
        Ok(Client { socket, address })
    }

    /// Waits up to `timeout` for a signer starting at `socket`, then connects.
    pub async fn wait_for(
        socket: impl Into<PathBuf>,
        timeout: Duration,
    ) -> Result<Self, ClientError> {
        let socket = socket.into();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            match Self::connect(&socket).await {
                Ok(c) => return Ok(c),
                Err(e) if tokio::time::Instant::now() >= deadline => return Err(e),
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }

    /// The signer's address.
    pub fn address(&self) -> Address {
        self.address
    }

    /// The socket.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// Signs ledger transaction `tx` (its `from` must be this signer) for `chain_id`.
    pub async fn sign_tx(&self, chain_id: u64, tx: Tx) -> Result<SignedTx, ClientError> {
        let v = call(
            &self.socket,
            &Request::SignTransaction {
                chain_id,
                tx: tx.clone(),
            },
        )
        .await?;
        let sig = signature(&v, &self.socket)?;
        Ok(SignedTx {
            chain_id,
            tx,
            signature: Signature(sig),
        })
    }

    /// Signs an x402 EIP-3009 authorization under the token's `domain`.
    pub async fn sign_authorization(
        &self,
        domain: &Eip712Domain,
        authorization: &Authorization,
    ) -> Result<[u8; 65], ClientError> {
        let v = call(
            &self.socket,
            &Request::SignAuthorization {
                domain: domain.clone(),
                authorization: authorization.clone(),
            },
        )
        .await?;
        signature(&v, &self.socket)
    }

    /// Signs `eth_signTypedData_v4` JSON.
    pub async fn sign_typed_data(&self, typed_data: &Value) -> Result<[u8; 65], ClientError> {
        let typed =
            serde_json::from_value(typed_data.clone()).map_err(|e| ClientError::Refused {
                code: "bad_request".into(),
                message: format!("not EIP-712 typed data: {e}"),
            })?;
        let v = call(
            &self.socket,
            &Request::SignTypedData {
                typed_data: Box::new(typed),
            },
        )
        .await?;
        signature(&v, &self.socket)
    }
}

impl Signer for Client {
    fn address(&self) -> Address {
        self.address
    }

    fn sign_authorization<'a>(
        &'a self,
        domain: &'a Eip712Domain,
        authorization: &'a Authorization,
    ) -> BoxFuture<'a, Result<[u8; 65], SignerError>> {
        Box::pin(async move {
            Client::sign_authorization(self, domain, authorization)
                .await
                .map_err(|e| SignerError(e.to_string()))
        })
    }
}

/// The owner's handle on the approval queue.
#[derive(Debug, Clone)]
pub struct AdminClient {
    socket: PathBuf,
}

impl AdminClient {
    /// A client of the admin socket at `socket`.
    pub fn new(socket: impl Into<PathBuf>) -> Self {
        AdminClient {
            socket: socket.into(),
        }
    }

    /// The held requests: `[{id, since, request}]`.
    pub async fn pending(&self) -> Result<Vec<Value>, ClientError> {
        let v = call(&self.socket, &AdminRequest::Pending {}).await?;
        Ok(v["pending"].as_array().cloned().unwrap_or_default())
    }

    /// Approves held request `id`: the signer signs it.
    pub async fn approve(&self, id: u64) -> Result<(), ClientError> {
        call(&self.socket, &AdminRequest::Approve { id })
            .await
            .map(drop)
    }

    /// Rejects held request `id`.
    pub async fn reject(&self, id: u64) -> Result<(), ClientError> {
        call(&self.socket, &AdminRequest::Reject { id })
            .await
            .map(drop)
    }
}
