//! The EIP-3009 token interface the backend calls: the functions of USDC (FiatToken v2.2) and
//! of `interop/evm/Eip3009Token.sol` that verification reads and settlement sends
//! (`research/x402.md` §2.1).

#![allow(missing_docs)]

alloy_sol_types::sol! {
    /// An ERC-20 with EIP-712 `name()`/`version()` and EIP-3009.
    interface IEip3009 {
        function name() external view returns (string);
        function version() external view returns (string);
        function balanceOf(address account) external view returns (uint256);
        function authorizationState(address authorizer, bytes32 nonce) external view returns (bool);
        /// The ECDSA form every EIP-3009 token has (USDC v2, v2.1, v2.2).
        function transferWithAuthorization(
            address from,
            address to,
            uint256 value,
            uint256 validAfter,
            uint256 validBefore,
            bytes32 nonce,
            uint8 v,
            bytes32 r,
            bytes32 s
        ) external;
        /// The `bytes signature` form of USDC v2.2 (ERC-1271 smart-wallet signatures).
        function transferWithAuthorization(
            address from,
            address to,
            uint256 value,
            uint256 validAfter,
            uint256 validBefore,
            bytes32 nonce,
            bytes signature
        ) external;
    }
}
