//! `symbiont signer`: run the isolated signer for one key under a policy; and
//! `symbiont wallet`: the owner's side of it (approve or reject held requests, verify the
//! audit log).

use std::path::{Path, PathBuf};

use eyre::{WrapErr, bail, eyre};
use wallet::Address;
use wallet_signer::{AdminClient, Config, Policy, audit};

use super::keys::KeystoreArgs;

const SIGNER_ABOUT: &str = "\
Runs the isolated signer: it decrypts one key from the keystore and signs, over a Unix socket \
(mode 0600), only what the policy allows — ledger transactions, x402 payments (EIP-3009) and \
listed EIP-712 types. Agents connect to the socket and never see the key.

Every decision (signed, denied, held, approved, rejected) is appended to a hash-chained audit \
log before the answer is sent; `symbiont wallet audit verify <log>` checks it. Budgets continue \
across restarts from that log. Requests above an asset's approve_above wait for `symbiont wallet \
approve <id>` on the admin socket. See docs/signer.md and docs/examples/policy.toml.";

/// Run the isolated signer.
#[derive(Debug, clap::Args)]
#[command(long_about = SIGNER_ABOUT)]
pub struct SignerCmd {
    /// The spend policy (TOML; unknown fields are refused).
    #[arg(long, value_name = "FILE")]
    policy: PathBuf,
    /// Address of the key to serve [default: the keystore's only key].
    #[arg(long)]
    from: Option<Address>,
    /// Keystore location and passphrase source.
    #[command(flatten)]
    keystore: KeystoreArgs,
    /// The agents' socket [default: <keystore>/signer.sock].
    #[arg(long, value_name = "PATH")]
    socket: Option<PathBuf>,
    /// The owner's approval socket [default: <keystore>/signer-admin.sock].
    #[arg(long, value_name = "PATH")]
    admin_socket: Option<PathBuf>,
    /// The audit log [default: <keystore>/signer-audit.log].
    #[arg(long, value_name = "FILE")]
    audit_log: Option<PathBuf>,
}

impl SignerCmd {
    /// Runs until Ctrl-C or SIGTERM.
    pub fn run(self) -> eyre::Result<()> {
        let policy = Policy::load(&self.policy)?;
        let dir = self.keystore.dir()?;
        let store = self.keystore.open()?;
        let from = match self.from {
            Some(a) => a,
            None => match store.list()?.as_slice() {
                [(a, _)] => *a,
                [] => bail!("the keystore {} has no keys", dir.display()),
                _ => bail!(
                    "the keystore {} has several keys: choose one with --from",
                    dir.display()
                ),
            },
        };
        let json = store
            .load(from)
            .wrap_err_with(|| format!("no key for {from} in {}", dir.display()))?;
        let passphrase = self
            .keystore
            .passphrase(&format!("Passphrase for {from}: "))?;
        let key = wallet::decrypt(&json, passphrase.as_bytes())?;
        let config = Config {
            policy,
            key,
            socket: self.socket.unwrap_or_else(|| dir.join("signer.sock")),
            admin_socket: self
                .admin_socket
                .unwrap_or_else(|| dir.join("signer-admin.sock")),
            audit_log: self
                .audit_log
                .unwrap_or_else(|| dir.join("signer-audit.log")),
        };
        let (socket, admin) = (config.socket.clone(), config.admin_socket.clone());
        let rt = tokio::runtime::Runtime::new()?;
        rt.block_on(async move {
            let handle = wallet_signer::serve(config).await?;
            println!("signer for {} listening", handle.address());
            println!("  agents: {}", socket.display());
            println!(
                "  owner:  {} (symbiont wallet pending|approve|reject)",
                admin.display()
            );
            shutdown_signal().await;
            drop(handle);
            eyre::Ok(())
        })
    }
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
}

/// The owner's side of a signer.
#[derive(Debug, clap::Args)]
pub struct WalletCmd {
    #[command(subcommand)]
    command: WalletSubcommand,
}

#[derive(Debug, clap::Subcommand)]
enum WalletSubcommand {
    /// List signing requests held for approval.
    Pending {
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// Approve a held request: the signer signs it.
    Approve {
        /// The request id (from `symbiont wallet pending` or the signer's log).
        id: u64,
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// Reject a held request.
    Reject {
        /// The request id.
        id: u64,
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// The signer's audit log.
    Audit {
        #[command(subcommand)]
        command: AuditSubcommand,
    },
}

#[derive(Debug, clap::Subcommand)]
enum AuditSubcommand {
    /// Check every link of a hash-chained audit log; prints the entry count and the head
    /// hash (keep it: a later truncation shows as a different head).
    Verify {
        /// The log file.
        log: PathBuf,
    },
}

#[derive(Debug, clap::Args)]
struct AdminArgs {
    /// The signer's admin socket [default: $HOME/.symbiont/keystore/signer-admin.sock].
    #[arg(long, value_name = "PATH")]
    admin_socket: Option<PathBuf>,
}

impl AdminArgs {
    fn client(&self) -> eyre::Result<AdminClient> {
        let path = match &self.admin_socket {
            Some(p) => p.clone(),
            None => KeystoreArgs::default().dir()?.join("signer-admin.sock"),
        };
        Ok(AdminClient::new(path))
    }
}

impl WalletCmd {
    /// Runs the subcommand.
    pub fn run(self) -> eyre::Result<()> {
        match self.command {
            WalletSubcommand::Audit {
                command: AuditSubcommand::Verify { log },
            } => verify(&log),
            WalletSubcommand::Pending { admin } => {
                let client = admin.client()?;
                let pending = runtime()?.block_on(client.pending())?;
                if pending.is_empty() {
                    println!("no requests are waiting for approval");
                }
                for p in pending {
                    println!(
                        "{:>6}  {}",
                        p["id"],
                        serde_json::to_string(&p["request"]).unwrap_or_default()
                    );
                }
                Ok(())
            }
            WalletSubcommand::Approve { id, admin } => {
                runtime()?.block_on(admin.client()?.approve(id))?;
                println!("approved request {id}");
                Ok(())
            }
            WalletSubcommand::Reject { id, admin } => {
                runtime()?.block_on(admin.client()?.reject(id))?;
                println!("rejected request {id}");
                Ok(())
            }
        }
    }
}

fn runtime() -> eyre::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| eyre!("starting the runtime: {e}"))
}

fn verify(log: &Path) -> eyre::Result<()> {
    let v = audit::verify(log)?;
    println!("{}: {} entries, chain intact", log.display(), v.entries);
    println!("head {}", v.head);
    if v.partial_tail {
        println!("(ends in a partial line from a crash mid-write; the signer cuts it off)");
    }
    Ok(())
}
