//! The canonical reason strings of `VerifyResponse.invalidReason` and
//! `SettleResponse.errorReason`.
//!
//! Sources (checked against upstream `x402-foundation/x402`):
//! - `typescript/packages/mechanisms/evm/src/exact/facilitator/errors.ts`, whose header says
//!   the strings are "character-for-character identical to the Go constants in
//!   `go/mechanisms/evm/exact/facilitator/errors.go`" (EVM exact, EIP-3009 verify and settle,
//!   Permit2, the gas-sponsoring extensions, shared settle errors);
//! - `specs/x402-specification-v2.md` §9 (and v1) for the protocol-level codes;
//! - `research/x402.md` §1.5 and §3 for `settlement_pending` (a settlement broadcast whose
//!   receipt was not seen in time; the response carries the transaction hash).
//!
//! Strings outside the table still decode, as [`Reason::Other`], so a newer facilitator's
//! codes pass through a Symbiont server unchanged.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

macro_rules! reasons {
    ($( $(#[$doc:meta])* $variant:ident = $s:literal, )*) => {
        /// A verify/settle failure reason, serialized as its canonical string.
        ///
        /// Equality and hashing go by the wire string, so `Other("insufficient_funds")`
        /// equals `InsufficientFunds`.
        #[derive(Debug, Clone)]
        #[non_exhaustive]
        pub enum Reason {
            $( $(#[$doc])* $variant, )*
            /// A reason this crate does not know, kept verbatim.
            Other(String),
        }

        impl Reason {
            /// Every known reason, in table order.
            pub const ALL: &'static [Reason] = &[$(Reason::$variant),*];

            /// The canonical wire string.
            pub fn as_str(&self) -> &str {
                match self {
                    $( Reason::$variant => $s, )*
                    Reason::Other(s) => s,
                }
            }

            /// The reason for a wire string (never fails: unknown strings become
            /// [`Reason::Other`]).
            pub fn parse(s: &str) -> Reason {
                match s {
                    $( $s => Reason::$variant, )*
                    other => Reason::Other(other.to_owned()),
                }
            }
        }
    };
}

reasons! {
    // --- protocol level (spec §9) ---
    /// The payer's balance does not cover the amount.
    InsufficientFunds = "insufficient_funds",
    /// The payload's network is not one the facilitator or requirements accept.
    InvalidNetwork = "invalid_network",
    /// The payload is malformed.
    InvalidPayload = "invalid_payload",
    /// The requirements are malformed.
    InvalidPaymentRequirements = "invalid_payment_requirements",
    /// The scheme is not valid here.
    InvalidScheme = "invalid_scheme",
    /// The scheme is not supported by the facilitator.
    UnsupportedScheme = "unsupported_scheme",
    /// The `x402Version` is not supported.
    InvalidX402Version = "invalid_x402_version",
    /// The transaction is in an invalid state.
    InvalidTransactionState = "invalid_transaction_state",
    /// An unexpected error during verification.
    UnexpectedVerifyError = "unexpected_verify_error",
    /// An unexpected error during settlement.
    UnexpectedSettleError = "unexpected_settle_error",
    /// Spec name: the signature does not verify.
    InvalidExactEvmPayloadSignature = "invalid_exact_evm_payload_signature",
    /// Spec name: the recipient is not `payTo`.
    InvalidExactEvmPayloadRecipientMismatch = "invalid_exact_evm_payload_recipient_mismatch",
    /// Spec (v2) name: the value is not the required amount.
    InvalidExactEvmPayloadAuthorizationValueMismatch =
        "invalid_exact_evm_payload_authorization_value_mismatch",
    /// Spec (v1) name: the value is below the required amount.
    InvalidExactEvmPayloadAuthorizationValue = "invalid_exact_evm_payload_authorization_value",

    // --- EVM exact (errors.ts / errors.go) ---
    /// `asset` has no contract code.
    AssetNotDeployedContract = "asset_not_deployed_contract",
    /// The scheme is not `exact`.
    InvalidExactEvmScheme = "invalid_exact_evm_scheme",
    /// The payload's network differs from the requirements'.
    InvalidExactEvmNetworkMismatch = "invalid_exact_evm_network_mismatch",
    /// `extra.name`/`extra.version` missing.
    InvalidExactEvmMissingEip712Domain = "invalid_exact_evm_missing_eip712_domain",
    /// `authorization.to` is not `payTo`.
    InvalidExactEvmRecipientMismatch = "invalid_exact_evm_recipient_mismatch",
    /// The signature does not verify.
    InvalidExactEvmSignature = "invalid_exact_evm_signature",
    /// `validBefore` has passed (or is within the block-time buffer).
    InvalidExactEvmPayloadAuthorizationValidBefore =
        "invalid_exact_evm_payload_authorization_valid_before",
    /// `validAfter` is in the future.
    InvalidExactEvmPayloadAuthorizationValidAfter =
        "invalid_exact_evm_payload_authorization_valid_after",
    /// `value` is not the required amount.
    InvalidExactEvmAuthorizationValue = "invalid_exact_evm_authorization_value",
    /// A smart-wallet signature from an undeployed wallet without EIP-6492 data.
    InvalidExactEvmPayloadUndeployedSmartWallet =
        "invalid_exact_evm_payload_undeployed_smart_wallet",
    /// The settlement transaction reverted.
    InvalidExactEvmTransactionFailed = "invalid_exact_evm_transaction_failed",
    /// The token's `name()` differs from `extra.name`.
    InvalidExactEvmTokenNameMismatch = "invalid_exact_evm_token_name_mismatch",
    /// The token's `version()` differs from `extra.version`.
    InvalidExactEvmTokenVersionMismatch = "invalid_exact_evm_token_version_mismatch",
    /// The token does not implement EIP-3009.
    InvalidExactEvmEip3009NotSupported = "invalid_exact_evm_eip3009_not_supported",
    /// The authorization's nonce was already used.
    InvalidExactEvmNonceAlreadyUsed = "invalid_exact_evm_nonce_already_used",
    /// The payer's token balance is too low.
    InvalidExactEvmInsufficientBalance = "invalid_exact_evm_insufficient_balance",
    /// Simulating the transfer failed for another reason.
    InvalidExactEvmTransactionSimulationFailed = "invalid_exact_evm_transaction_simulation_failed",
    /// Settle: re-verification failed.
    InvalidExactEvmVerificationFailed = "invalid_exact_evm_verification_failed",
    /// Settle: the signature could not be parsed.
    InvalidExactEvmFailedToParseSignature = "invalid_exact_evm_failed_to_parse_signature",
    /// Settle: the payer's deployment could not be checked.
    InvalidExactEvmFailedToCheckDeployment = "invalid_exact_evm_failed_to_check_deployment",
    /// Settle: the transfer could not be sent.
    InvalidExactEvmFailedToExecuteTransfer = "invalid_exact_evm_failed_to_execute_transfer",
    /// Settle: the receipt could not be fetched.
    InvalidExactEvmFailedToGetReceipt = "invalid_exact_evm_failed_to_get_receipt",

    // --- Permit2 ---
    /// The Permit2 spender is not the x402 proxy.
    InvalidPermit2Spender = "invalid_permit2_spender",
    /// The Permit2 witness recipient is not `payTo`.
    InvalidPermit2RecipientMismatch = "invalid_permit2_recipient_mismatch",
    /// The Permit2 deadline has passed.
    Permit2DeadlineExpired = "permit2_deadline_expired",
    /// The Permit2 witness `validAfter` is in the future.
    Permit2NotYetValid = "permit2_not_yet_valid",
    /// The permitted amount is not the required amount.
    Permit2AmountMismatch = "permit2_amount_mismatch",
    /// The permitted token is not `asset`.
    Permit2TokenMismatch = "permit2_token_mismatch",
    /// The Permit2 signature does not verify.
    InvalidPermit2Signature = "invalid_permit2_signature",
    /// The payer has not approved Permit2 (HTTP 412 in the TS server).
    Permit2AllowanceRequired = "permit2_allowance_required",
    /// Simulating the Permit2 settlement failed.
    Permit2SimulationFailed = "permit2_simulation_failed",
    /// The payer's balance is too low (Permit2).
    Permit2InsufficientBalance = "permit2_insufficient_balance",
    /// The x402 Permit2 proxy is not deployed on this chain.
    Permit2ProxyNotDeployed = "permit2_proxy_not_deployed",
    /// Settle revert: invalid amount.
    Permit2InvalidAmount = "permit2_invalid_amount",
    /// Settle revert: invalid destination.
    Permit2InvalidDestination = "permit2_invalid_destination",
    /// Settle revert: invalid owner.
    Permit2InvalidOwner = "permit2_invalid_owner",
    /// Settle revert: payment too early.
    Permit2PaymentTooEarly = "permit2_payment_too_early",
    /// Settle revert: invalid nonce.
    Permit2InvalidNonce = "permit2_invalid_nonce",
    /// Settle revert: EIP-2612 permit amount mismatch.
    Permit2Eip2612AmountMismatch = "permit2_2612_amount_mismatch",

    // --- ERC-20 approval gas sponsoring ---
    /// Malformed `erc20ApprovalGasSponsoring` extension.
    InvalidErc20ApprovalExtensionFormat = "invalid_erc20_approval_extension_format",
    /// Approval `from` is not the payer.
    Erc20ApprovalFromMismatch = "erc20_approval_from_mismatch",
    /// Approval token is not `asset`.
    Erc20ApprovalAssetMismatch = "erc20_approval_asset_mismatch",
    /// Approval spender is not Permit2.
    Erc20ApprovalSpenderNotPermit2 = "erc20_approval_spender_not_permit2",
    /// Approval transaction targets another contract.
    Erc20ApprovalTxWrongTarget = "erc20_approval_tx_wrong_target",
    /// Approval transaction calls another function.
    Erc20ApprovalTxWrongSelector = "erc20_approval_tx_wrong_selector",
    /// Approval transaction approves another spender.
    Erc20ApprovalTxWrongSpender = "erc20_approval_tx_wrong_spender",
    /// Approval transaction calldata is invalid.
    Erc20ApprovalTxInvalidCalldata = "erc20_approval_tx_invalid_calldata",
    /// Approval transaction signed by someone else.
    Erc20ApprovalTxSignerMismatch = "erc20_approval_tx_signer_mismatch",
    /// Approval transaction signature invalid.
    Erc20ApprovalTxInvalidSignature = "erc20_approval_tx_invalid_signature",
    /// Approval transaction could not be parsed.
    Erc20ApprovalTxParseFailed = "erc20_approval_tx_parse_failed",
    /// Approval transaction failed.
    Erc20ApprovalTxFailed = "erc20_approval_tx_failed",

    // --- EIP-2612 gas sponsoring ---
    /// Malformed `eip2612GasSponsoring` extension.
    InvalidEip2612ExtensionFormat = "invalid_eip2612_extension_format",
    /// Permit owner is not the payer.
    Eip2612FromMismatch = "eip2612_from_mismatch",
    /// Permit token is not `asset`.
    Eip2612AssetMismatch = "eip2612_asset_mismatch",
    /// Permit spender is not Permit2.
    Eip2612SpenderNotPermit2 = "eip2612_spender_not_permit2",
    /// Permit deadline has passed.
    Eip2612DeadlineExpired = "eip2612_deadline_expired",

    // --- shared settle errors ---
    /// The payload type is not supported.
    UnsupportedPayloadType = "unsupported_payload_type",
    /// The EIP-6492 factory is not allow-listed.
    Eip6492FactoryNotAllowed = "eip6492_factory_not_allowed",
    /// Deploying the payer's smart wallet failed.
    SmartWalletDeploymentFailed = "smart_wallet_deployment_failed",
    /// Broadcast, but no receipt within the bound; `transaction` holds the hash.
    SettlementPending = "settlement_pending",
}

impl PartialEq for Reason {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Reason {}

impl std::hash::Hash for Reason {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<&str> for Reason {
    fn from(s: &str) -> Self {
        Reason::parse(s)
    }
}

impl Serialize for Reason {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Reason {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Ok(Reason::parse(&s))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn strings_are_unique_snake_case_and_round_trip() {
        let mut seen = HashSet::new();
        for r in Reason::ALL {
            let s = r.as_str();
            assert!(seen.insert(s), "duplicate {s}");
            assert!(
                s.bytes()
                    .all(|b| b == b'_' || b.is_ascii_lowercase() || b.is_ascii_digit()),
                "{s}"
            );
            assert_eq!(&Reason::parse(s), r);
            let json = serde_json::to_string(r).unwrap();
            assert_eq!(json, format!("\"{s}\""));
            assert_eq!(&serde_json::from_str::<Reason>(&json).unwrap(), r);
        }
    }

    #[test]
    fn sdk_strings_verbatim() {
        // Spot checks against errors.ts / errors.go, written out independently of the table.
        let expected = [
            (
                Reason::InvalidExactEvmSignature,
                "invalid_exact_evm_signature",
            ),
            (
                Reason::InvalidExactEvmNonceAlreadyUsed,
                "invalid_exact_evm_nonce_already_used",
            ),
            (
                Reason::InvalidExactEvmAuthorizationValue,
                "invalid_exact_evm_authorization_value",
            ),
            (
                Reason::InvalidExactEvmPayloadAuthorizationValidBefore,
                "invalid_exact_evm_payload_authorization_valid_before",
            ),
            (
                Reason::Permit2AllowanceRequired,
                "permit2_allowance_required",
            ),
            (Reason::SettlementPending, "settlement_pending"),
            (Reason::InsufficientFunds, "insufficient_funds"),
        ];
        for (r, s) in expected {
            assert_eq!(r.as_str(), s);
        }
    }

    #[test]
    fn unknown_strings_pass_through() {
        let r: Reason = serde_json::from_str("\"invalid_batch_settlement_evm_x\"").unwrap();
        assert_eq!(r, Reason::Other("invalid_batch_settlement_evm_x".into()));
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            "\"invalid_batch_settlement_evm_x\""
        );
        assert_eq!(
            Reason::Other("insufficient_funds".into()),
            Reason::InsufficientFunds
        );
    }
}
