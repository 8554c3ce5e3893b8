//! Fuzzes the ERC-8004 registration file decoder (`ledger::agents::registration`): parsing
//! untrusted bytes never panics; a refusal names a reason; an accepted file re-encodes to
//! JSON that parses again to the same interpreted fields.
#![no_main]

use ledger::agents::registration::RegistrationFile;
use libfuzzer_sys::fuzz_target;

fn core(f: &RegistrationFile) -> impl PartialEq + std::fmt::Debug {
    let services: Vec<_> = f
        .services
        .iter()
        .map(|s| (s.name.clone(), s.endpoint.clone(), s.version.clone()))
        .collect();
    (
        f.kind.clone(),
        f.name.clone(),
        f.description.clone(),
        f.image.clone(),
        services,
        (f.x402_support, f.active),
        f.registrations.clone(),
        f.supported_trust.clone(),
    )
}

fuzz_target!(|data: &[u8]| {
    match RegistrationFile::parse(data) {
        Ok(f) => {
            let json = serde_json::to_vec(&f).unwrap();
            let again = RegistrationFile::parse(&json).unwrap();
            assert_eq!(core(&again), core(&f));
        }
        Err(e) => assert!(!e.reason.is_empty()),
    }
});
