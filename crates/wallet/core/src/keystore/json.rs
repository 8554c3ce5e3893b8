//! The keystore v3 JSON document ("Web3 Secret Storage Definition", version 3).
//!
//! Parsing walks the JSON by hand rather than through a derived `Deserialize`, so that every
//! error names the field at fault (`crypto.kdfparams.salt`, ...). Writing follows geth's layout.
//! Accepted leniently, as geth and ethers do: `Crypto` for `crypto`, an optional `0x` on hex
//! fields, a missing `id` or `address`; unknown fields (such as `x-ethers`) are ignored.

use std::fmt;

use alloy_primitives::Address;
use serde_json::{Map, Value, json};

use crate::{Error, Result};

/// The only cipher of keystore v3 in use.
pub const CIPHER_AES_128_CTR: &str = "aes-128-ctr";
/// The only PBKDF2 pseudo-random function of keystore v3.
pub const PRF_HMAC_SHA256: &str = "hmac-sha256";

/// A parsed keystore v3 document. It holds only encrypted material.
#[derive(Clone, PartialEq, Eq)]
pub struct KeystoreJson {
    /// The address of the key, when the file states it (geth writes it; the spec does not).
    pub address: Option<Address>,
    /// The document's UUID, kept verbatim (empty when absent).
    pub id: String,
    /// Encryption parameters and ciphertext.
    pub crypto: Crypto,
}

/// The `crypto` object: AES-128-CTR ciphertext, its IV, the KDF and the MAC.
#[derive(Clone, PartialEq, Eq)]
pub struct Crypto {
    /// `cipherparams.iv`: the 128-bit AES-CTR initial counter.
    pub iv: [u8; 16],
    /// `ciphertext`: the encrypted 32-byte secret.
    pub ciphertext: Vec<u8>,
    /// `kdf` and `kdfparams`.
    pub kdf: Kdf,
    /// `mac`: keccak256(derived_key[16..32] ‖ ciphertext).
    pub mac: [u8; 32],
}

/// The key derivation function and its parameters.
#[derive(Clone, PartialEq, Eq)]
pub enum Kdf {
    /// scrypt (RFC 7914), what geth and ethers write.
    Scrypt {
        /// CPU/memory cost, a power of two greater than 1.
        n: u64,
        /// Block size.
        r: u32,
        /// Parallelism.
        p: u32,
        /// Derived key length in bytes (32 or more).
        dklen: u32,
        /// Salt.
        salt: Vec<u8>,
    },
    /// PBKDF2 with HMAC-SHA256 (RFC 8018), accepted as the spec requires.
    Pbkdf2 {
        /// Iteration count.
        c: u32,
        /// Derived key length in bytes (32 or more).
        dklen: u32,
        /// Salt.
        salt: Vec<u8>,
    },
}

impl fmt::Debug for KeystoreJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeystoreJson")
            .field("address", &self.address)
            .field("id", &self.id)
            .field("kdf", &self.crypto.kdf)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for Crypto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Crypto")
            .field("kdf", &self.kdf)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for Kdf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Scrypt { n, r, p, dklen, .. } => {
                write!(f, "scrypt(n={n}, r={r}, p={p}, dklen={dklen})")
            }
            Self::Pbkdf2 { c, dklen, .. } => write!(f, "pbkdf2-hmac-sha256(c={c}, dklen={dklen})"),
        }
    }
}

impl KeystoreJson {
    /// Parses a keystore document from bytes.
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        let value: Value = serde_json::from_slice(bytes).map_err(|e| Error::Json(e.to_string()))?;
        Self::from_value(&value)
    }

    /// Parses a keystore document from an already parsed JSON value.
    pub fn from_value(value: &Value) -> Result<Self> {
        let root = value
            .as_object()
            .ok_or_else(|| Error::Json("expected a JSON object".into()))?;

        match root.get("version") {
            Some(v) if v.as_u64() == Some(3) => {}
            Some(v) => {
                return Err(Error::Unsupported(format!(
                    "keystore version {v} (only version 3 is supported)"
                )));
            }
            None => return Err(Error::malformed("version", "missing")),
        }
        let id = match root.get("id") {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(s)) => s.clone(),
            Some(_) => return Err(Error::malformed("id", "expected a string")),
        };
        let address = match root.get("address") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(parse_address(s)?),
            Some(_) => return Err(Error::malformed("address", "expected a hex string")),
        };
        let crypto = root
            .get("crypto")
            .or_else(|| root.get("Crypto"))
            .ok_or_else(|| Error::malformed("crypto", "missing"))?
            .as_object()
            .ok_or_else(|| Error::malformed("crypto", "expected an object"))?;
        Ok(Self {
            address,
            id,
            crypto: Crypto::from_object(crypto)?,
        })
    }

    /// The document as geth writes it (`address` lowercase hex without `0x`).
    pub fn to_value(&self) -> Value {
        let c = &self.crypto;
        let kdfparams = match &c.kdf {
            Kdf::Scrypt {
                n,
                r,
                p,
                dklen,
                salt,
            } => json!({"dklen": dklen, "n": n, "p": p, "r": r, "salt": hex::encode(salt)}),
            Kdf::Pbkdf2 { c, dklen, salt } => json!({
                "c": c, "dklen": dklen, "prf": PRF_HMAC_SHA256, "salt": hex::encode(salt)
            }),
        };
        let kdf = match c.kdf {
            Kdf::Scrypt { .. } => "scrypt",
            Kdf::Pbkdf2 { .. } => "pbkdf2",
        };
        let mut root = Map::new();
        if let Some(address) = self.address {
            root.insert("address".into(), hex::encode(address).into());
        }
        root.insert(
            "crypto".into(),
            json!({
                "cipher": CIPHER_AES_128_CTR,
                "ciphertext": hex::encode(&c.ciphertext),
                "cipherparams": {"iv": hex::encode(c.iv)},
                "kdf": kdf,
                "kdfparams": kdfparams,
                "mac": hex::encode(c.mac),
            }),
        );
        root.insert("id".into(), self.id.clone().into());
        root.insert("version".into(), 3.into());
        Value::Object(root)
    }

    /// The document as pretty-printed JSON text.
    pub fn to_json_pretty(&self) -> String {
        // Serialising a `Value` cannot fail; fall back to the compact form all the same.
        serde_json::to_string_pretty(&self.to_value())
            .unwrap_or_else(|_| self.to_value().to_string())
    }
}

impl fmt::Display for KeystoreJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_value())
    }
}

impl serde::Serialize for KeystoreJson {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_value().serialize(serializer)
    }
}

impl<'de> serde::Deserialize<'de> for KeystoreJson {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        Self::from_value(&value).map_err(serde::de::Error::custom)
    }
}

impl std::str::FromStr for KeystoreJson {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s.as_bytes())
    }
}

impl Crypto {
    fn from_object(o: &Map<String, Value>) -> Result<Self> {
        let cipher = get_str(o, "cipher", "crypto.cipher")?;
        if cipher != CIPHER_AES_128_CTR {
            return Err(Error::Unsupported(format!("cipher {cipher:?}")));
        }
        let iv = get(o, "cipherparams", "crypto.cipherparams")?
            .as_object()
            .ok_or_else(|| Error::malformed("crypto.cipherparams", "expected an object"))?;
        let iv = hex_array(
            get_str(iv, "iv", "crypto.cipherparams.iv")?,
            "crypto.cipherparams.iv",
        )?;
        let ciphertext = hex_vec(
            get_str(o, "ciphertext", "crypto.ciphertext")?,
            "crypto.ciphertext",
        )?;
        let mac = hex_array(get_str(o, "mac", "crypto.mac")?, "crypto.mac")?;

        let params = get(o, "kdfparams", "crypto.kdfparams")?
            .as_object()
            .ok_or_else(|| Error::malformed("crypto.kdfparams", "expected an object"))?;
        let salt = hex_vec(
            get_str(params, "salt", "crypto.kdfparams.salt")?,
            "crypto.kdfparams.salt",
        )?;
        let dklen = get_u32(params, "dklen", "crypto.kdfparams.dklen")?;
        if dklen < 32 {
            return Err(Error::malformed(
                "crypto.kdfparams.dklen",
                "must be at least 32",
            ));
        }
        let kdf = match get_str(o, "kdf", "crypto.kdf")? {
            "scrypt" => {
                let n = get(params, "n", "crypto.kdfparams.n")?
                    .as_u64()
                    .ok_or_else(|| Error::malformed("crypto.kdfparams.n", "expected an integer"))?;
                if n < 2 || !n.is_power_of_two() {
                    return Err(Error::malformed(
                        "crypto.kdfparams.n",
                        "must be a power of two greater than 1",
                    ));
                }
                let r = get_u32(params, "r", "crypto.kdfparams.r")?;
                let p = get_u32(params, "p", "crypto.kdfparams.p")?;
                if r == 0 || p == 0 {
                    return Err(Error::malformed(
                        "crypto.kdfparams",
                        "scrypt r and p must be positive",
                    ));
                }
                Kdf::Scrypt {
                    n,
                    r,
                    p,
                    dklen,
                    salt,
                }
            }
            "pbkdf2" => {
                let prf = get_str(params, "prf", "crypto.kdfparams.prf")?;
                if prf != PRF_HMAC_SHA256 {
                    return Err(Error::Unsupported(format!("pbkdf2 prf {prf:?}")));
                }
                let c = get_u32(params, "c", "crypto.kdfparams.c")?;
                if c == 0 {
                    return Err(Error::malformed("crypto.kdfparams.c", "must be positive"));
                }
                Kdf::Pbkdf2 { c, dklen, salt }
            }
            other => return Err(Error::Unsupported(format!("kdf {other:?}"))),
        };
        Ok(Self {
            iv,
            ciphertext,
            kdf,
            mac,
        })
    }
}

fn get<'a>(o: &'a Map<String, Value>, key: &str, field: &'static str) -> Result<&'a Value> {
    o.get(key).ok_or_else(|| Error::malformed(field, "missing"))
}

fn get_str<'a>(o: &'a Map<String, Value>, key: &str, field: &'static str) -> Result<&'a str> {
    get(o, key, field)?
        .as_str()
        .ok_or_else(|| Error::malformed(field, "expected a string"))
}

fn get_u32(o: &Map<String, Value>, key: &str, field: &'static str) -> Result<u32> {
    get(o, key, field)?
        .as_u64()
        .and_then(|v| u32::try_from(v).ok())
        .ok_or_else(|| Error::malformed(field, "expected an unsigned 32-bit integer"))
}

fn strip_0x(s: &str) -> &str {
    s.strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .unwrap_or(s)
}

fn hex_vec(s: &str, field: &'static str) -> Result<Vec<u8>> {
    hex::decode(strip_0x(s)).map_err(|e| Error::malformed(field, format!("bad hex: {e}")))
}

fn hex_array<const N: usize>(s: &str, field: &'static str) -> Result<[u8; N]> {
    let mut out = [0u8; N];
    hex::decode_to_slice(strip_0x(s), &mut out)
        .map_err(|_| Error::malformed(field, format!("expected {} hex digits", 2 * N)))?;
    Ok(out)
}

fn parse_address(s: &str) -> Result<Address> {
    hex_array::<20>(s, "address").map(Address::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"{"version":3,"id":"x","crypto":{"cipher":"aes-128-ctr",
        "cipherparams":{"iv":"00000000000000000000000000000000"},"ciphertext":"00",
        "kdf":"scrypt","kdfparams":{"n":2,"r":1,"p":1,"dklen":32,"salt":""},
        "mac":"0000000000000000000000000000000000000000000000000000000000000000"}}"#;

    fn field_of(json: &str) -> String {
        match KeystoreJson::parse(json.as_bytes()) {
            Err(Error::Malformed { field, .. }) => field.to_string(),
            other => panic!("expected a malformed-field error, got {other:?}"),
        }
    }

    #[test]
    fn errors_name_the_field() {
        assert!(KeystoreJson::parse(MINIMAL.as_bytes()).is_ok());
        assert_eq!(
            field_of(&MINIMAL.replace("\"mac\"", "\"mak\"")),
            "crypto.mac"
        );
        assert_eq!(
            field_of(&MINIMAL.replace(r#""salt":"""#, r#""salt":"zz""#)),
            "crypto.kdfparams.salt"
        );
        assert_eq!(
            field_of(&MINIMAL.replace(r#""n":2"#, r#""n":3"#)),
            "crypto.kdfparams.n"
        );
        assert_eq!(
            field_of(&MINIMAL.replace(r#""iv":"00"#, r#""iv":""#)),
            "crypto.cipherparams.iv"
        );
        assert_eq!(
            field_of(&MINIMAL.replace("\"crypto\"", "\"cryp\"")),
            "crypto"
        );
        assert_eq!(field_of(&MINIMAL.replace("\"version\":3,", "")), "version");
        let msg = KeystoreJson::parse(MINIMAL.replace("\"mac\"", "\"mak\"").as_bytes())
            .unwrap_err()
            .to_string();
        assert!(msg.contains("crypto.mac"), "{msg}");
    }

    #[test]
    fn unsupported_and_not_json() {
        assert!(matches!(
            KeystoreJson::parse(MINIMAL.replace("aes-128-ctr", "aes-128-cbc").as_bytes()),
            Err(Error::Unsupported(_))
        ));
        assert!(matches!(
            KeystoreJson::parse(MINIMAL.replace("\"version\":3", "\"version\":1").as_bytes()),
            Err(Error::Unsupported(_))
        ));
        assert!(matches!(KeystoreJson::parse(b"{"), Err(Error::Json(_))));
        assert!(matches!(KeystoreJson::parse(b"[]"), Err(Error::Json(_))));
    }

    #[test]
    fn capitalised_crypto_and_0x_are_accepted_and_writing_round_trips() {
        let lenient = MINIMAL
            .replace("\"crypto\"", "\"Crypto\"")
            .replace(r#""ciphertext":"00""#, r#""ciphertext":"0x00""#)
            .replace(
                r#""id":"x""#,
                r#""id":"x","address":"0xF39FD6E51AAD88F6F4CE6AB8827279CFFFB92266""#,
            );
        let ks = KeystoreJson::parse(lenient.as_bytes()).unwrap();
        assert_eq!(ks.crypto.ciphertext, vec![0]);
        let written = ks.to_value();
        assert_eq!(
            written["address"],
            "f39fd6e51aad88f6f4ce6ab8827279cfffb92266"
        );
        assert_eq!(KeystoreJson::from_value(&written).unwrap(), ks);
        let via_serde: KeystoreJson = serde_json::from_str(&ks.to_string()).unwrap();
        assert_eq!(via_serde, ks);
    }
}
