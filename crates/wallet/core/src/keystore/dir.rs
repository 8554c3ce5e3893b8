//! A directory of keystore files, laid out as geth lays out `~/.ethereum/keystore`.
//!
//! One file per key, named `UTC--<ISO 8601 time with '-' for ':'>--<address>` (for example
//! `UTC--2016-03-22T12-57-55.920751759Z--7ef5a6135f1fd6a02593eedc869c6d41d934aef8`), readable
//! only by its owner (mode 0600; the directory 0700). Files are written to a temporary name
//! and renamed, so a crash never leaves a half-written key behind.

use std::{
    fs,
    io::Write,
    path::{Path, PathBuf},
    time::{SystemTime, UNIX_EPOCH},
};

use alloy_primitives::Address;

use super::{
    crypto::{ScryptParams, decrypt, encrypt},
    json::KeystoreJson,
};
use crate::{Error, PrivateKey, Result};

/// Keystore files larger than this are not keystore files.
const MAX_FILE_SIZE: u64 = 64 * 1024;

/// A keystore directory.
#[derive(Debug, Clone)]
pub struct KeyStore {
    dir: PathBuf,
}

impl KeyStore {
    /// The keystore in `dir`. The directory is created on the first write, not here.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Self> {
        let dir = dir.into();
        match fs::metadata(&dir) {
            Ok(m) if !m.is_dir() => Err(Error::Io {
                path: dir,
                source: std::io::Error::other("not a directory"),
            }),
            _ => Ok(Self { dir }),
        }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Every key in the directory with its file, oldest first (file names start with the
    /// time). Files that are not keystore v3 JSON, or that do not state an address, are
    /// skipped. A directory that does not exist yet holds no keys.
    pub fn list(&self) -> Result<Vec<(Address, PathBuf)>> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io(&self.dir)(e)),
        };
        let mut keys = Vec::new();
        for entry in entries {
            let entry = entry.map_err(Error::io(&self.dir))?;
            let path = entry.path();
            let hidden = entry.file_name().to_string_lossy().starts_with('.');
            let Ok(meta) = entry.metadata() else { continue };
            if hidden || !meta.is_file() || meta.len() > MAX_FILE_SIZE {
                continue;
            }
            let Ok(bytes) = fs::read(&path) else { continue };
            if let Ok(KeystoreJson {
                address: Some(address),
                ..
            }) = KeystoreJson::parse(&bytes)
            {
                keys.push((address, path));
            }
        }
        keys.sort_by(|a, b| a.1.cmp(&b.1));
        Ok(keys)
    }

    /// The file that holds the key for `address`.
    pub fn find(&self, address: Address) -> Result<PathBuf> {
        self.list()?
            .into_iter()
            .find(|(a, _)| *a == address)
            .map(|(_, path)| path)
            .ok_or(Error::NotFound(address))
    }

    /// The keystore document for `address`.
    pub fn load(&self, address: Address) -> Result<KeystoreJson> {
        read_file(&self.find(address)?)
    }

    /// Decrypts the key for `address`.
    pub fn unlock(&self, address: Address, passphrase: &[u8]) -> Result<PrivateKey> {
        decrypt(&self.load(address)?, passphrase)
    }

    /// Encrypts `key` under `passphrase` and writes it as a new file; returns its path.
    pub fn store(
        &self,
        key: &PrivateKey,
        passphrase: &[u8],
        params: ScryptParams,
    ) -> Result<PathBuf> {
        self.refuse_duplicate(key.address())?;
        let json = encrypt(key, passphrase, params)?;
        self.write(key.address(), &json)
    }

    /// Adds a keystore document made elsewhere (another wallet), keeping its encryption. It is
    /// decrypted first with `passphrase`, so a file that cannot be opened is never stored;
    /// the written copy states the address. Returns the address and the new file.
    pub fn import(&self, json: &KeystoreJson, passphrase: &[u8]) -> Result<(Address, PathBuf)> {
        let address = decrypt(json, passphrase)?.address();
        self.refuse_duplicate(address)?;
        let json = KeystoreJson {
            address: Some(address),
            ..json.clone()
        };
        Ok((address, self.write(address, &json)?))
    }

    fn refuse_duplicate(&self, address: Address) -> Result<()> {
        match self.find(address) {
            Ok(path) => Err(Error::AlreadyExists { address, path }),
            Err(Error::NotFound(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    fn write(&self, address: Address, json: &KeystoreJson) -> Result<PathBuf> {
        create_private_dir(&self.dir)?;
        let name = key_file_name(SystemTime::now(), address);
        let path = self.dir.join(&name);
        let tmp = self.dir.join(format!(".{name}.tmp"));
        let result = write_private(&tmp, json.to_json_pretty().as_bytes())
            .and_then(|()| fs::rename(&tmp, &path).map_err(Error::io(&path)));
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result.map(|()| path)
    }
}

/// Reads and parses one keystore file.
pub fn read_file(path: &Path) -> Result<KeystoreJson> {
    let meta = fs::metadata(path).map_err(Error::io(path))?;
    if meta.len() > MAX_FILE_SIZE {
        return Err(Error::Json(format!(
            "{} is {} bytes, too large for a keystore file",
            path.display(),
            meta.len()
        )));
    }
    KeystoreJson::parse(&fs::read(path).map_err(Error::io(path))?)
}

/// Writes `json` to a new file at `path` (which must not exist) with mode 0600.
pub fn write_file(path: &Path, json: &KeystoreJson) -> Result<()> {
    write_private(path, json.to_json_pretty().as_bytes())
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(Error::io(path))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(Error::io(path))
}

fn create_private_dir(dir: &Path) -> Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(Error::io(dir))
}

/// geth's file name for a key: `UTC--2016-03-22T12-57-55.920751759Z--<address hex>`.
pub fn key_file_name(time: SystemTime, address: Address) -> String {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "UTC--{year:04}-{month:02}-{day:02}T{:02}-{:02}-{:02}.{:09}Z--{}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        since.subsec_nanos(),
        hex::encode(address)
    )
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar
/// (H. Hinnant, "chrono-Compatible Low-Level Date Algorithms", `civil_from_days`).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn file_names_match_geth() {
        let address: Address = "0x7ef5a6135f1fd6a02593eedc869c6d41d934aef8"
            .parse()
            .unwrap();
        let t = UNIX_EPOCH + Duration::new(1_458_651_475, 920_751_759);
        assert_eq!(
            key_file_name(t, address),
            "UTC--2016-03-22T12-57-55.920751759Z--7ef5a6135f1fd6a02593eedc869c6d41d934aef8"
        );
        assert!(key_file_name(UNIX_EPOCH, address).starts_with("UTC--1970-01-01T00-00-00.0"));
        // A leap day.
        let t = UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert!(key_file_name(t, address).starts_with("UTC--2000-02-29T00-00-00"));
    }

    #[test]
    fn store_list_find_unlock_import() {
        let tmp = tempfile::tempdir().unwrap();
        let store = KeyStore::open(tmp.path().join("ks")).unwrap();
        assert!(store.list().unwrap().is_empty());

        let key = PrivateKey::random();
        let path = store.store(&key, b"pw", ScryptParams::LIGHT).unwrap();
        assert_eq!(store.list().unwrap(), vec![(key.address(), path.clone())]);
        assert_eq!(store.find(key.address()).unwrap(), path);
        assert_eq!(store.unlock(key.address(), b"pw").unwrap(), key);
        assert!(matches!(
            store.unlock(key.address(), b"nope"),
            Err(Error::WrongPassphrase)
        ));
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        assert!(name.starts_with("UTC--") && name.ends_with(&hex::encode(key.address())));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }

        // Storing the same key twice is refused.
        assert!(matches!(
            store.store(&key, b"pw", ScryptParams::LIGHT),
            Err(Error::AlreadyExists { .. })
        ));

        // Junk files are skipped by `list`.
        fs::write(tmp.path().join("ks/notes.txt"), "hello").unwrap();
        assert_eq!(store.list().unwrap().len(), 1);

        // Import into another store keeps the encryption and states the address.
        let other = KeyStore::open(tmp.path().join("other")).unwrap();
        let mut json = store.load(key.address()).unwrap();
        json.address = None;
        assert!(matches!(
            other.import(&json, b"wrong"),
            Err(Error::WrongPassphrase)
        ));
        let (address, copied) = other.import(&json, b"pw").unwrap();
        assert_eq!(address, key.address());
        assert_eq!(read_file(&copied).unwrap().address, Some(address));
        assert_eq!(other.unlock(address, b"pw").unwrap(), key);
        assert!(matches!(other.find(Address::ZERO), Err(Error::NotFound(_))));
    }
}
