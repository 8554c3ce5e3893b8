//! The ERC-8004 agent registration file (research notes §1.2): the JSON an `agentURI` points
//! to, with `type`, `name`, `description`, `image`, `services[]` (`name`, `endpoint`,
//! `version`), `x402Support`, `active`, `registrations[]` (`agentId`, `agentRegistry`) and
//! `supportedTrust[]`.
//!
//! [`RegistrationFile::parse`] reads untrusted bytes (at most [`MAX_FILE_LEN`]) and refuses a
//! malformed file with an error that names the field, e.g.
//! `services[1].endpoint: not an absolute URL`. Fields it does not know are kept (services
//! such as OASF carry `skills` and `domains`).

use std::{collections::BTreeMap, fmt};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The largest registration file accepted, bytes.
pub const MAX_FILE_LEN: usize = 64 * 1024;
/// The `type` every registration file carries.
pub const REGISTRATION_TYPE: &str = "https://eips.ethereum.org/EIPS/eip-8004#registration-v1";
/// The longest name, version, trust model or service name.
const MAX_SHORT: usize = 256;
/// The longest URL or endpoint.
const MAX_URL: usize = 2048;
/// The most services, registrations or trust models.
const MAX_ITEMS: usize = 64;

/// A registration file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegistrationFile {
    /// Always [`REGISTRATION_TYPE`].
    #[serde(rename = "type")]
    pub kind: String,
    /// The agent's name.
    pub name: String,
    /// What it does (may include pricing and how to interact).
    #[serde(default)]
    pub description: String,
    /// An image URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Where it serves.
    #[serde(default)]
    pub services: Vec<Service>,
    /// Whether it accepts x402 payments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x402_support: Option<bool>,
    /// Whether it is active.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    /// The registries it is registered in.
    #[serde(default)]
    pub registrations: Vec<Registration>,
    /// Trust models it supports (`reputation`, `crypto-economic`, `tee-attestation`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub supported_trust: Vec<String>,
    /// Fields this version does not interpret, kept as they were.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// One service entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Service {
    /// `web`, `A2A`, `MCP`, `OASF`, `ENS`, `DID`, `email` or another name.
    pub name: String,
    /// Where: a URL, or for `ENS` a name, for `DID` a DID, for `email` an address.
    pub endpoint: String,
    /// The protocol version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Other fields (e.g. OASF `skills`, `domains`).
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// One registration: `{agentId, agentRegistry}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Registration {
    /// The agent id in that registry.
    pub agent_id: u64,
    /// `{namespace}:{chainId}:{identityRegistry}`, e.g. `eip155:8453:0x8004…`.
    pub agent_registry: String,
}

/// Why a registration file is refused: the field (a JSON path) and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct RegistrationError {
    /// The field, e.g. `services[1].endpoint`; empty for the file as a whole.
    pub field: String,
    /// What is wrong.
    pub reason: String,
}

impl fmt::Display for RegistrationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field.is_empty() {
            write!(f, "{}", self.reason)
        } else {
            write!(f, "{}: {}", self.field, self.reason)
        }
    }
}

fn err<T>(field: impl Into<String>, reason: impl Into<String>) -> Result<T, RegistrationError> {
    Err(RegistrationError {
        field: field.into(),
        reason: reason.into(),
    })
}

type Res<T> = Result<T, RegistrationError>;

/// Reads the fields of one JSON object, naming each by its path.
struct Obj<'a> {
    path: String,
    map: &'a Map<String, Value>,
}

impl<'a> Obj<'a> {
    fn new(path: String, v: &'a Value) -> Res<Self> {
        match v {
            Value::Object(map) => Ok(Obj { path, map }),
            _ => err(path, format!("must be an object, not {}", kind(v))),
        }
    }

    fn field(&self, name: &str) -> String {
        if self.path.is_empty() {
            name.to_owned()
        } else {
            format!("{}.{name}", self.path)
        }
    }

    fn string(&self, name: &str, required: bool, max: usize) -> Res<Option<String>> {
        let field = self.field(name);
        match self.map.get(name) {
            None | Some(Value::Null) if required => err(field, "is required"),
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => {
                if s.len() > max {
                    return err(field, format!("longer than {max} bytes"));
                }
                if s.chars().any(char::is_control) {
                    return err(field, "contains control characters");
                }
                Ok(Some(s.clone()))
            }
            Some(v) => err(field, format!("must be a string, not {}", kind(v))),
        }
    }

    fn bool(&self, name: &str) -> Res<Option<bool>> {
        match self.map.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(v) => err(
                self.field(name),
                format!("must be true or false, not {}", kind(v)),
            ),
        }
    }

    fn array(&self, name: &str) -> Res<&'a [Value]> {
        match self.map.get(name) {
            None | Some(Value::Null) => Ok(&[]),
            Some(Value::Array(a)) if a.len() > MAX_ITEMS => {
                err(self.field(name), format!("more than {MAX_ITEMS} entries"))
            }
            Some(Value::Array(a)) => Ok(a),
            Some(v) => err(
                self.field(name),
                format!("must be an array, not {}", kind(v)),
            ),
        }
    }

    fn extra(&self, known: &[&str]) -> BTreeMap<String, Value> {
        self.map
            .iter()
            .filter(|(k, _)| !known.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// An absolute URL: `scheme:rest` (RFC 3986 scheme), no whitespace; `http`, `https`, `ws`
/// and `wss` need a host after `//`.
pub fn is_absolute_url(s: &str) -> bool {
    let Some((scheme, rest)) = s.split_once(':') else {
        return false;
    };
    let mut chars = scheme.chars();
    let scheme_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if !scheme_ok || rest.is_empty() || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return false;
    }
    match scheme.to_ascii_lowercase().as_str() {
        "http" | "https" | "ws" | "wss" => rest
            .strip_prefix("//")
            .and_then(|r| r.split(['/', '?', '#']).next())
            .is_some_and(|host| !host.is_empty() && !host.starts_with(':')),
        _ => true,
    }
}

/// Checks a service endpoint by the service's name.
fn check_endpoint(name: &str, endpoint: &str) -> Result<(), &'static str> {
    if endpoint.trim().is_empty() {
        return Err("is empty");
    }
    match name.to_ascii_lowercase().as_str() {
        "ens" if !endpoint.contains('.') || endpoint.contains(char::is_whitespace) => {
            Err("not an ENS name")
        }
        "did" if !endpoint.starts_with("did:") || endpoint.contains(char::is_whitespace) => {
            Err("not a DID (did:<method>:<id>)")
        }
        "email" => match endpoint.split_once('@') {
            Some((l, d)) if !l.is_empty() && d.contains('.') && !d.contains('@') => Ok(()),
            _ => Err("not an email address"),
        },
        "ens" | "did" => Ok(()),
        _ if is_absolute_url(endpoint) => Ok(()),
        _ => Err("not an absolute URL"),
    }
}

/// `{namespace}:{chainId}:{address}`; for `eip155` a decimal chain id and a 20-byte hex
/// address.
fn check_agent_registry(s: &str) -> Result<(), &'static str> {
    let parts: Vec<&str> = s.split(':').collect();
    let [ns, chain, addr] = parts.as_slice() else {
        return Err("must be {namespace}:{chainId}:{identityRegistry}");
    };
    if ns.is_empty() || chain.is_empty() || addr.is_empty() {
        return Err("must be {namespace}:{chainId}:{identityRegistry}");
    }
    if *ns == "eip155" {
        if !chain.bytes().all(|b| b.is_ascii_digit()) || chain.parse::<u64>().is_err() {
            return Err("eip155 chain id must be a decimal number");
        }
        if addr.parse::<alloy_primitives::Address>().is_err() {
            return Err("registry must be a 0x-prefixed 20-byte hex address");
        }
    }
    Ok(())
}

impl RegistrationFile {
    /// Parses and validates a registration file of at most [`MAX_FILE_LEN`] bytes.
    pub fn parse(bytes: &[u8]) -> Res<Self> {
        if bytes.len() > MAX_FILE_LEN {
            return err(
                "",
                format!(
                    "registration file is {} bytes; the limit is {MAX_FILE_LEN}",
                    bytes.len()
                ),
            );
        }
        let v: Value = match serde_json::from_slice(bytes) {
            Ok(v) => v,
            Err(e) => return err("", format!("not JSON: {e}")),
        };
        Self::from_value(&v)
    }

    /// Validates a parsed JSON document.
    pub fn from_value(v: &Value) -> Res<Self> {
        let top = Obj::new(String::new(), v)?;
        let kind_ = top.string("type", true, MAX_URL)?.unwrap_or_default();
        if kind_ != REGISTRATION_TYPE {
            return err("type", format!("must be {REGISTRATION_TYPE:?}"));
        }
        let name = top.string("name", true, MAX_SHORT)?.unwrap_or_default();
        if name.trim().is_empty() {
            return err("name", "is empty");
        }
        let description = top
            .string("description", false, MAX_FILE_LEN)?
            .unwrap_or_default();
        let image = top.string("image", false, MAX_FILE_LEN)?;
        if let Some(i) = &image
            && !is_absolute_url(i)
        {
            return err("image", "not an absolute URL");
        }
        let mut services = Vec::new();
        for (i, s) in top.array("services")?.iter().enumerate() {
            let o = Obj::new(format!("services[{i}]"), s)?;
            let name = o.string("name", true, MAX_SHORT)?.unwrap_or_default();
            if name.trim().is_empty() {
                return err(o.field("name"), "is empty");
            }
            let endpoint = o.string("endpoint", true, MAX_URL)?.unwrap_or_default();
            if let Err(reason) = check_endpoint(&name, &endpoint) {
                return err(o.field("endpoint"), reason);
            }
            let version = o.string("version", false, MAX_SHORT)?;
            services.push(Service {
                name,
                endpoint,
                version,
                extra: o.extra(&["name", "endpoint", "version"]),
            });
        }
        let mut registrations = Vec::new();
        for (i, r) in top.array("registrations")?.iter().enumerate() {
            let o = Obj::new(format!("registrations[{i}]"), r)?;
            let agent_id = match o.map.get("agentId") {
                Some(Value::Number(n)) => match n.as_u64() {
                    Some(id) => id,
                    None => return err(o.field("agentId"), "must be a non-negative integer"),
                },
                None | Some(Value::Null) => return err(o.field("agentId"), "is required"),
                Some(v) => {
                    return err(
                        o.field("agentId"),
                        format!("must be a non-negative integer, not {}", kind(v)),
                    );
                }
            };
            let agent_registry = o
                .string("agentRegistry", true, MAX_SHORT)?
                .unwrap_or_default();
            if let Err(reason) = check_agent_registry(&agent_registry) {
                return err(o.field("agentRegistry"), reason);
            }
            registrations.push(Registration {
                agent_id,
                agent_registry,
            });
        }
        let mut supported_trust = Vec::new();
        for (i, t) in top.array("supportedTrust")?.iter().enumerate() {
            let field = format!("supportedTrust[{i}]");
            match t {
                Value::String(s) if !s.trim().is_empty() && s.len() <= MAX_SHORT => {
                    supported_trust.push(s.clone());
                }
                Value::String(_) => return err(field, "must be a non-empty short string"),
                v => return err(field, format!("must be a string, not {}", kind(v))),
            }
        }
        Ok(RegistrationFile {
            kind: kind_,
            name,
            description,
            image,
            services,
            x402_support: top.bool("x402Support")?,
            active: top.bool("active")?,
            registrations,
            supported_trust,
            extra: top.extra(&[
                "type",
                "name",
                "description",
                "image",
                "services",
                "x402Support",
                "active",
                "registrations",
                "supportedTrust",
            ]),
        })
    }

    /// The service named `name` (case-insensitive), if any.
    pub fn service(&self, name: &str) -> Option<&Service> {
        self.services
            .iter()
            .find(|s| s.name.eq_ignore_ascii_case(name))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn file(extra: &str) -> String {
        format!(
            r#"{{"type":"{REGISTRATION_TYPE}","name":"flight-search","description":"d",
            "services":[{{"name":"A2A","endpoint":"https://x/.well-known/agent-card.json","version":"0.3.0"}},
                        {{"name":"MCP","endpoint":"https://x/mcp"}}]{extra}}}"#
        )
    }

    #[test]
    fn accepts_the_spec_skeleton() {
        let f = RegistrationFile::parse(
            file(
                r#","x402Support":true,"active":true,"image":"https://x/a.png",
                "registrations":[{"agentId":0,"agentRegistry":"eip155:8453:0x8004A169FB4a3325136EB29fA0ceB6D2e539a432"}],
                "supportedTrust":["reputation"],"custom":1"#,
            )
            .as_bytes(),
        )
        .unwrap();
        assert_eq!(f.services.len(), 2);
        assert_eq!(f.x402_support, Some(true));
        assert_eq!(f.registrations[0].agent_id, 0);
        assert_eq!(f.extra["custom"], 1);
        assert_eq!(f.service("mcp").unwrap().endpoint, "https://x/mcp");
        // Round trip through its own JSON.
        let again = RegistrationFile::parse(&serde_json::to_vec(&f).unwrap()).unwrap();
        assert_eq!(again, f);
    }

    #[test]
    fn names_the_bad_field() {
        let cases = [
            (r#"{"type":"x","name":"a"}"#.to_owned(), "type: must be"),
            (
                format!(r#"{{"type":"{REGISTRATION_TYPE}"}}"#),
                "name: is required",
            ),
            (
                file("").replace("https://x/mcp", "x/mcp"),
                "services[1].endpoint: not an absolute URL",
            ),
            (
                file(r#","registrations":[{"agentId":-1,"agentRegistry":"eip155:1:0x00"}]"#),
                "registrations[0].agentId: must be a non-negative integer",
            ),
            (
                file(r#","registrations":[{"agentId":1,"agentRegistry":"eip155:1:0x00"}]"#),
                "registrations[0].agentRegistry: registry must be",
            ),
            (
                file(r#","x402Support":"yes""#),
                "x402Support: must be true or false",
            ),
            (
                file(r#","supportedTrust":[1]"#),
                "supportedTrust[0]: must be a string",
            ),
            (file(r#","services":{}"#), "services: must be an array"),
            (file(r#","image":"a.png""#), "image: not an absolute URL"),
            ("[1]".to_owned(), "must be an object"),
            ("{".to_owned(), "not JSON"),
        ];
        for (json, want) in cases {
            let e = RegistrationFile::parse(json.as_bytes())
                .unwrap_err()
                .to_string();
            assert!(e.starts_with(want) || e.contains(want), "{json}: {e}");
        }
    }

    #[test]
    fn endpoints_by_service_kind() {
        assert!(check_endpoint("ENS", "vitalik.eth").is_ok());
        assert!(check_endpoint("DID", "did:method:foobar").is_ok());
        assert!(check_endpoint("email", "mail@myagent.com").is_ok());
        assert!(check_endpoint("email", "nope").is_err());
        assert!(check_endpoint("OASF", "ipfs://bafy").is_ok());
        assert!(check_endpoint("web", "https://").is_err());
        assert!(check_endpoint("web", "https://a b").is_err());
        assert!(check_endpoint("web", "http://127.0.0.1:8080/x").is_ok());
    }

    #[test]
    fn refuses_oversized_files() {
        let big = vec![b' '; MAX_FILE_LEN + 1];
        let e = RegistrationFile::parse(&big).unwrap_err();
        assert!(e.reason.contains("limit"));
    }
}

#[cfg(test)]
mod props {
    #![allow(clippy::unwrap_used)]
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;

    fn services(hosts: &[String]) -> Vec<Value> {
        hosts
            .iter()
            .enumerate()
            .map(|(i, h)| json!({ "name": "MCP", "endpoint": format!("https://{h}/{i}") }))
            .collect()
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
            if let Err(e) = RegistrationFile::parse(&bytes) {
                prop_assert!(!e.reason.is_empty());
            }
        }

        #[test]
        fn a_bad_endpoint_is_named_by_its_index(
            hosts in prop::collection::vec("[a-z]{1,10}", 1..6),
            bad in any::<prop::sample::Index>(),
        ) {
            let mut s = services(&hosts);
            let i = bad.index(hosts.len());
            s[i]["endpoint"] = json!(hosts[i]);
            let doc = json!({ "type": REGISTRATION_TYPE, "name": "a", "services": s });
            let e = RegistrationFile::from_value(&doc).unwrap_err();
            prop_assert_eq!(e.field, format!("services[{i}].endpoint"));
            prop_assert_eq!(e.reason, "not an absolute URL");
        }

        #[test]
        fn valid_files_round_trip(
            name in "[a-zA-Z][a-zA-Z0-9 -]{0,20}",
            hosts in prop::collection::vec("[a-z]{1,10}", 0..4),
            ids in prop::collection::vec(any::<u64>(), 0..4),
            x402 in any::<Option<bool>>(),
            active in any::<Option<bool>>(),
        ) {
            let regs: Vec<Value> = ids
                .iter()
                .map(|id| json!({ "agentId": id, "agentRegistry": crate::agents::agent_registry(7) }))
                .collect();
            let doc = json!({
                "type": REGISTRATION_TYPE, "name": name, "services": services(&hosts),
                "x402Support": x402, "active": active, "registrations": regs,
            });
            let f = RegistrationFile::from_value(&doc).unwrap();
            prop_assert_eq!(f.services.len(), hosts.len());
            prop_assert_eq!(f.registrations.iter().map(|r| r.agent_id).collect::<Vec<_>>(), ids);
            let again = RegistrationFile::parse(&serde_json::to_vec(&f).unwrap()).unwrap();
            prop_assert_eq!(again, f);
        }
    }
}
