//! `symbiont keys`: create, import, list and export keys kept in an Ethereum keystore v3
//! directory, and [`SignerArgs`], which other commands use to unlock a key for signing.
//!
//! Passphrases never come from the command line (where `ps` and shell history would show
//! them): they come from `--password-file` / `SYMBIONT_PASSWORD_FILE`, or from a hidden prompt
//! on the terminal.

use std::{
    io::{BufRead, IsTerminal, Read, Write},
    path::{Path, PathBuf},
};

use eyre::{WrapErr, bail, eyre};
use wallet::{Address, KeyStore, KeystoreJson, PrivateKey, ScryptParams, keystore};
use zeroize::Zeroizing;

const KEYS_ABOUT: &str = "\
Keys are stored encrypted in the Ethereum keystore v3 format (scrypt, AES-128-CTR), one file \
per key named like geth's (UTC--<time>--<address>), so they move to and from geth, MetaMask, \
ethers, viem and other standard wallets.

The passphrase is read from --password-file (or SYMBIONT_PASSWORD_FILE), first line, or asked \
for on the terminal; never from a command-line argument.";

/// Manage keys.
#[derive(Debug, clap::Args)]
#[command(long_about = KEYS_ABOUT)]
pub struct KeysCmd {
    #[command(flatten)]
    keystore: KeystoreArgs,
    #[command(subcommand)]
    command: KeysSubcommand,
}

#[derive(Debug, clap::Subcommand)]
enum KeysSubcommand {
    /// Create a new random key and store it encrypted; prints its address.
    ///
    /// The passphrase is asked for twice on the terminal unless --password-file is given.
    New {
        #[command(flatten)]
        kdf: KdfArgs,
    },
    /// Import a key: a hex private key (from a file, standard input or a hidden prompt), or a
    /// keystore JSON file written by another wallet.
    ///
    /// Without --private-key-file or --keystore-file, the hex private key is asked for on the
    /// terminal (hidden). A keystore file is decrypted first (to check it and learn its
    /// address), then re-encrypted under this keystore's passphrase, or kept as it is with
    /// --copy.
    Import {
        /// Read the private key (64 hex digits, optional 0x) from this file; `-` reads it
        /// from standard input.
        #[arg(long, value_name = "FILE", conflicts_with = "keystore_file")]
        private_key_file: Option<PathBuf>,
        /// Import this keystore v3 JSON file (geth, MetaMask, ethers, viem, ...).
        #[arg(long, value_name = "FILE")]
        keystore_file: Option<PathBuf>,
        /// File whose first line is the passphrase of the --keystore-file being imported
        /// (default: asked for on the terminal).
        #[arg(long, value_name = "FILE", requires = "keystore_file")]
        source_password_file: Option<PathBuf>,
        /// Store the --keystore-file as it is, keeping its own passphrase and KDF settings,
        /// instead of re-encrypting it under this keystore's passphrase.
        #[arg(long, requires = "keystore_file")]
        copy: bool,
        #[command(flatten)]
        kdf: KdfArgs,
    },
    /// List the keys in the keystore: address and file, oldest first.
    List,
    /// Export a key: as a keystore v3 JSON file (same passphrase) that any standard wallet
    /// imports, or as a raw hex private key.
    Export {
        /// Address of the key to export.
        address: Address,
        /// Write the keystore JSON file here (it must not exist yet).
        #[arg(
            long,
            value_name = "FILE",
            conflicts_with = "private_key",
            required_unless_present = "private_key"
        )]
        out: Option<PathBuf>,
        /// Print the unencrypted private key in hex on standard output. Asks for the
        /// passphrase, then for a confirmation unless --yes-i-understand is given.
        #[arg(long)]
        private_key: bool,
        /// Confirm that printing the raw private key is intended (for scripts without a
        /// terminal). Anyone who sees the output controls the account.
        #[arg(long, requires = "private_key")]
        yes_i_understand: bool,
    },
}

/// Where the keystore is and where its passphrase comes from; shared by every command that
/// touches keys.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct KeystoreArgs {
    /// Keystore directory [default: $HOME/.symbiont/keystore].
    #[arg(long, env = "SYMBIONT_KEYSTORE", value_name = "DIR", global = true)]
    pub keystore: Option<PathBuf>,
    /// Read the keystore passphrase from the first line of this file instead of prompting.
    #[arg(
        long,
        env = "SYMBIONT_PASSWORD_FILE",
        value_name = "FILE",
        global = true
    )]
    pub password_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, clap::Args)]
struct KdfArgs {
    /// Use geth's light scrypt settings (n=4096, p=6) instead of the standard n=262144:
    /// much faster, much weaker. For tests and throwaway keys only.
    #[arg(long)]
    light_kdf: bool,
}

impl KdfArgs {
    fn params(self) -> ScryptParams {
        if self.light_kdf {
            ScryptParams::LIGHT
        } else {
            ScryptParams::STANDARD
        }
    }
}

/// The arguments of a command that signs with a key from the keystore: `--from <ADDRESS>`
/// plus `--keystore` and `--password-file`.
#[derive(Debug, Clone, clap::Args)]
pub struct SignerArgs {
    /// Address of the key in the keystore.
    #[arg(long)]
    pub from: Address,
    /// Keystore location and passphrase source.
    #[command(flatten)]
    pub keystore: KeystoreArgs,
}

impl SignerArgs {
    /// Decrypts the key for `--from` (asking for the passphrase unless a password file is
    /// given).
    pub fn unlock(&self) -> eyre::Result<PrivateKey> {
        let store = self.keystore.open()?;
        let json = store.load(self.from).wrap_err_with(|| {
            format!(
                "no key for {} in {} (see `symbiont keys list`)",
                self.from,
                store.dir().display()
            )
        })?;
        let passphrase = self
            .keystore
            .passphrase(&format!("Passphrase for {}: ", self.from))?;
        Ok(keystore::decrypt(&json, passphrase.as_bytes())?)
    }
}

impl KeystoreArgs {
    /// The keystore directory: `--keystore`, `SYMBIONT_KEYSTORE` or
    /// `$HOME/.symbiont/keystore`.
    pub fn dir(&self) -> eyre::Result<PathBuf> {
        if let Some(dir) = &self.keystore {
            return Ok(dir.clone());
        }
        let home = std::env::var_os("HOME")
            .filter(|h| !h.is_empty())
            .ok_or_else(|| eyre!("HOME is not set: pass --keystore <DIR>"))?;
        Ok(PathBuf::from(home).join(".symbiont").join("keystore"))
    }

    /// Opens the keystore directory.
    pub fn open(&self) -> eyre::Result<KeyStore> {
        Ok(KeyStore::open(self.dir()?)?)
    }

    /// The passphrase of an existing key: from the password file, or asked once.
    pub fn passphrase(&self, prompt: &str) -> eyre::Result<Zeroizing<String>> {
        match &self.password_file {
            Some(file) => read_password_file(file),
            None => prompt_hidden(prompt),
        }
    }

    /// A passphrase for a new key: from the password file, or asked twice. Never empty.
    pub fn new_passphrase(&self) -> eyre::Result<Zeroizing<String>> {
        let passphrase = match &self.password_file {
            Some(file) => read_password_file(file)?,
            None => {
                let first = prompt_hidden("New passphrase: ")?;
                let second = prompt_hidden("Repeat the passphrase: ")?;
                if first != second {
                    bail!("the passphrases do not match");
                }
                first
            }
        };
        if passphrase.is_empty() {
            bail!("refusing an empty passphrase");
        }
        Ok(passphrase)
    }
}

impl KeysCmd {
    /// Runs the subcommand.
    pub fn run(self) -> eyre::Result<()> {
        let args = self.keystore;
        match self.command {
            KeysSubcommand::New { kdf } => {
                let store = args.open()?;
                let passphrase = args.new_passphrase()?;
                let key = PrivateKey::random();
                let path = store.store(&key, passphrase.as_bytes(), kdf.params())?;
                print_key(key.address(), &path);
            }
            KeysSubcommand::Import {
                private_key_file: _,
                keystore_file: Some(file),
                source_password_file,
                copy,
                kdf,
            } => {
                let store = args.open()?;
                let json = keystore::read_file(&file)
                    .wrap_err_with(|| format!("reading {}", file.display()))?;
                let source_pass = match &source_password_file {
                    Some(f) => read_password_file(f)?,
                    None => prompt_hidden(&format!("Passphrase of {}: ", file.display()))?,
                };
                let (address, path) = if copy {
                    store.import(&json, source_pass.as_bytes())?
                } else {
                    let key = keystore::decrypt(&json, source_pass.as_bytes())
                        .wrap_err_with(|| format!("decrypting {}", file.display()))?;
                    let passphrase = args.new_passphrase()?;
                    let path = store.store(&key, passphrase.as_bytes(), kdf.params())?;
                    (key.address(), path)
                };
                print_key(address, &path);
            }
            KeysSubcommand::Import {
                private_key_file,
                kdf,
                ..
            } => {
                let store = args.open()?;
                let hex = match &private_key_file {
                    Some(path) if path == Path::new("-") => read_stdin_secret()?,
                    Some(path) => Zeroizing::new(
                        std::fs::read_to_string(path)
                            .wrap_err_with(|| format!("reading {}", path.display()))?,
                    ),
                    None => prompt_hidden("Private key (hex): ")?,
                };
                let key = PrivateKey::from_hex(&hex)?;
                let passphrase = args.new_passphrase()?;
                let path = store.store(&key, passphrase.as_bytes(), kdf.params())?;
                print_key(key.address(), &path);
            }
            KeysSubcommand::List => {
                let store = args.open()?;
                let keys = store.list()?;
                if keys.is_empty() {
                    eprintln!("no keys in {}", store.dir().display());
                }
                for (address, path) in keys {
                    println!("{address}  {}", path.display());
                }
            }
            KeysSubcommand::Export {
                address,
                out: Some(out),
                ..
            } => {
                let json: KeystoreJson = args.open()?.load(address)?;
                keystore::write_file(&out, &json)
                    .wrap_err_with(|| format!("writing {}", out.display()))?;
                eprintln!(
                    "wrote {} (encrypted with the keystore passphrase)",
                    out.display()
                );
            }
            KeysSubcommand::Export {
                address,
                yes_i_understand,
                ..
            } => {
                let signer = SignerArgs {
                    from: address,
                    keystore: args,
                };
                let key = signer.unlock()?;
                if !yes_i_understand {
                    confirm_export(address)?;
                }
                let mut stdout = std::io::stdout().lock();
                writeln!(stdout, "0x{}", key.to_hex().as_str())?;
            }
        }
        Ok(())
    }
}

fn print_key(address: Address, path: &Path) {
    println!("Address: {address}");
    println!("File:    {}", path.display());
}

/// The first line of a password file, without its line ending.
/// The first line of a password file.
pub fn read_password_file(path: &Path) -> eyre::Result<Zeroizing<String>> {
    let text = Zeroizing::new(
        std::fs::read_to_string(path)
            .wrap_err_with(|| format!("reading password file {}", path.display()))?,
    );
    let line = text.lines().next().unwrap_or_default();
    Ok(Zeroizing::new(line.to_owned()))
}

fn prompt_hidden(prompt: &str) -> eyre::Result<Zeroizing<String>> {
    rpassword::prompt_password(prompt)
        .map(Zeroizing::new)
        .wrap_err(
            "cannot ask on the terminal (no TTY?): use --password-file or SYMBIONT_PASSWORD_FILE",
        )
}

fn read_stdin_secret() -> eyre::Result<Zeroizing<String>> {
    let mut s = Zeroizing::new(String::new());
    std::io::stdin()
        .read_to_string(&mut s)
        .wrap_err("reading the private key from standard input")?;
    Ok(s)
}

fn confirm_export(address: Address) -> eyre::Result<()> {
    if !std::io::stdin().is_terminal() {
        bail!("refusing to print a private key without confirmation: pass --yes-i-understand");
    }
    eprintln!(
        "The private key of {address} will be printed in clear. Anyone who sees it controls \
         the account."
    );
    eprint!("Type \"yes\" to continue: ");
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    if answer.trim() != "yes" {
        bail!("not confirmed; nothing printed");
    }
    Ok(())
}
