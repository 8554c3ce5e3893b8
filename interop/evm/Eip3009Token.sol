// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title Eip3009Token
/// @notice A small ERC-20 with an EIP-712 domain and EIP-3009 transfers with authorization,
///         shaped like USDC v2.2 (both signature forms of `transferWithAuthorization`,
///         `receiveWithAuthorization` and `cancelAuthorization`; ERC-1271 for contract
///         signers). Written for Symbiont's x402 facilitator tests on a local EVM node.
/// @dev Time checks are EIP-3009's strict bounds: `validAfter < block.timestamp < validBefore`.
///      Reverts carry USDC-like messages so a simulation's revert reason reads well.
contract Eip3009Token {
    // ---------------------------------------------------------------- events

    /// ERC-20.
    event Transfer(address indexed from, address indexed to, uint256 value);
    /// ERC-20.
    event Approval(address indexed owner, address indexed spender, uint256 value);
    /// EIP-3009: `nonce` of `authorizer` was used by a transfer or receive.
    event AuthorizationUsed(address indexed authorizer, bytes32 indexed nonce);
    /// EIP-3009: `nonce` of `authorizer` was canceled before use.
    event AuthorizationCanceled(address indexed authorizer, bytes32 indexed nonce);

    // ------------------------------------------------------------- constants

    bytes32 private constant EIP712_DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");

    /// EIP-3009 `TransferWithAuthorization` struct type hash.
    bytes32 public constant TRANSFER_WITH_AUTHORIZATION_TYPEHASH = keccak256(
        "TransferWithAuthorization(address from,address to,uint256 value,uint256 validAfter,uint256 validBefore,bytes32 nonce)"
    );

    /// EIP-3009 `ReceiveWithAuthorization` struct type hash.
    bytes32 public constant RECEIVE_WITH_AUTHORIZATION_TYPEHASH = keccak256(
        "ReceiveWithAuthorization(address from,address to,uint256 value,uint256 validAfter,uint256 validBefore,bytes32 nonce)"
    );

    /// EIP-3009 `CancelAuthorization` struct type hash.
    bytes32 public constant CANCEL_AUTHORIZATION_TYPEHASH =
        keccak256("CancelAuthorization(address authorizer,bytes32 nonce)");

    /// ERC-1271 `isValidSignature(bytes32,bytes)` selector, also its success value.
    bytes4 private constant ERC1271_MAGIC_VALUE = 0x1626ba7e;

    /// Half the secp256k1 group order: larger `s` values are malleable (EIP-2).
    uint256 private constant HALF_ORDER = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0;

    // ----------------------------------------------------------------- state

    /// The account allowed to mint.
    address public immutable owner;
    /// ERC-20 total supply.
    uint256 public totalSupply;
    /// ERC-20 balances.
    mapping(address => uint256) public balanceOf;
    /// ERC-20 allowances.
    mapping(address => mapping(address => uint256)) public allowance;

    string private _name;
    string private _version;
    uint8 private immutable _decimals;
    uint256 private immutable _cachedChainId;
    bytes32 private immutable _cachedDomainSeparator;
    mapping(address => mapping(bytes32 => bool)) private _authorizationStates;

    constructor(string memory name_, string memory version_, uint8 decimals_) {
        owner = msg.sender;
        _name = name_;
        _version = version_;
        _decimals = decimals_;
        _cachedChainId = block.chainid;
        _cachedDomainSeparator = _buildDomainSeparator();
    }

    // -------------------------------------------------------- ERC-20 metadata

    /// The token name, also the EIP-712 domain name.
    function name() external view returns (string memory) {
        return _name;
    }

    /// The EIP-712 domain version.
    function version() external view returns (string memory) {
        return _version;
    }

    /// ERC-20 decimals.
    function decimals() external view returns (uint8) {
        return _decimals;
    }

    /// The EIP-712 domain separator (recomputed if the chain id changed, e.g. after a fork).
    function DOMAIN_SEPARATOR() public view returns (bytes32) {
        return block.chainid == _cachedChainId ? _cachedDomainSeparator : _buildDomainSeparator();
    }

    // ---------------------------------------------------------------- ERC-20

    /// Creates `value` tokens for `to`; only the deployer may mint.
    function mint(address to, uint256 value) external {
        require(msg.sender == owner, "Eip3009Token: caller is not the owner");
        require(to != address(0), "ERC20: mint to the zero address");
        totalSupply += value;
        balanceOf[to] += value;
        emit Transfer(address(0), to, value);
    }

    /// ERC-20 transfer.
    function transfer(address to, uint256 value) external returns (bool) {
        _transfer(msg.sender, to, value);
        return true;
    }

    /// ERC-20 approve.
    function approve(address spender, uint256 value) external returns (bool) {
        require(spender != address(0), "ERC20: approve to the zero address");
        allowance[msg.sender][spender] = value;
        emit Approval(msg.sender, spender, value);
        return true;
    }

    /// ERC-20 transferFrom; an allowance of `type(uint256).max` is never decreased.
    function transferFrom(address from, address to, uint256 value) external returns (bool) {
        uint256 allowed = allowance[from][msg.sender];
        if (allowed != type(uint256).max) {
            require(allowed >= value, "ERC20: transfer amount exceeds allowance");
            unchecked {
                allowance[from][msg.sender] = allowed - value;
            }
        }
        _transfer(from, to, value);
        return true;
    }

    // -------------------------------------------------------------- EIP-3009

    /// Whether `nonce` of `authorizer` was used or canceled.
    function authorizationState(address authorizer, bytes32 nonce) external view returns (bool) {
        return _authorizationStates[authorizer][nonce];
    }

    /// Executes a transfer signed by `from` (ECDSA as v, r, s).
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
    ) external {
        _useAuthorization(
            TRANSFER_WITH_AUTHORIZATION_TYPEHASH, from, to, value, validAfter, validBefore, nonce, abi.encodePacked(r, s, v)
        );
    }

    /// Executes a transfer signed by `from` (65-byte ECDSA r‖s‖v, or ERC-1271 bytes).
    function transferWithAuthorization(
        address from,
        address to,
        uint256 value,
        uint256 validAfter,
        uint256 validBefore,
        bytes32 nonce,
        bytes memory signature
    ) external {
        _useAuthorization(TRANSFER_WITH_AUTHORIZATION_TYPEHASH, from, to, value, validAfter, validBefore, nonce, signature);
    }

    /// Executes a transfer signed by `from` to the caller (ECDSA as v, r, s).
    function receiveWithAuthorization(
        address from,
        address to,
        uint256 value,
        uint256 validAfter,
        uint256 validBefore,
        bytes32 nonce,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external {
        require(to == msg.sender, "EIP3009: caller must be the payee");
        _useAuthorization(
            RECEIVE_WITH_AUTHORIZATION_TYPEHASH, from, to, value, validAfter, validBefore, nonce, abi.encodePacked(r, s, v)
        );
    }

    /// Executes a transfer signed by `from` to the caller (65-byte ECDSA or ERC-1271 bytes).
    function receiveWithAuthorization(
        address from,
        address to,
        uint256 value,
        uint256 validAfter,
        uint256 validBefore,
        bytes32 nonce,
        bytes memory signature
    ) external {
        require(to == msg.sender, "EIP3009: caller must be the payee");
        _useAuthorization(RECEIVE_WITH_AUTHORIZATION_TYPEHASH, from, to, value, validAfter, validBefore, nonce, signature);
    }

    /// Cancels an unused authorization of `authorizer` (ECDSA as v, r, s).
    function cancelAuthorization(address authorizer, bytes32 nonce, uint8 v, bytes32 r, bytes32 s) external {
        _cancelAuthorization(authorizer, nonce, abi.encodePacked(r, s, v));
    }

    /// Cancels an unused authorization of `authorizer` (65-byte ECDSA or ERC-1271 bytes).
    function cancelAuthorization(address authorizer, bytes32 nonce, bytes memory signature) external {
        _cancelAuthorization(authorizer, nonce, signature);
    }

    // ------------------------------------------------------------- internals

    function _transfer(address from, address to, uint256 value) private {
        require(to != address(0), "ERC20: transfer to the zero address");
        uint256 balance = balanceOf[from];
        require(balance >= value, "ERC20: transfer amount exceeds balance");
        unchecked {
            balanceOf[from] = balance - value;
        }
        balanceOf[to] += value;
        emit Transfer(from, to, value);
    }

    function _useAuthorization(
        bytes32 typeHash,
        address from,
        address to,
        uint256 value,
        uint256 validAfter,
        uint256 validBefore,
        bytes32 nonce,
        bytes memory signature
    ) private {
        require(block.timestamp > validAfter, "EIP3009: authorization is not yet valid");
        require(block.timestamp < validBefore, "EIP3009: authorization is expired");
        require(!_authorizationStates[from][nonce], "EIP3009: authorization is used or canceled");
        bytes32 structHash = keccak256(abi.encode(typeHash, from, to, value, validAfter, validBefore, nonce));
        require(_isValidSignature(from, _hashTypedData(structHash), signature), "EIP3009: invalid signature");
        _authorizationStates[from][nonce] = true;
        emit AuthorizationUsed(from, nonce);
        _transfer(from, to, value);
    }

    function _cancelAuthorization(address authorizer, bytes32 nonce, bytes memory signature) private {
        require(!_authorizationStates[authorizer][nonce], "EIP3009: authorization is used or canceled");
        bytes32 structHash = keccak256(abi.encode(CANCEL_AUTHORIZATION_TYPEHASH, authorizer, nonce));
        require(_isValidSignature(authorizer, _hashTypedData(structHash), signature), "EIP3009: invalid signature");
        _authorizationStates[authorizer][nonce] = true;
        emit AuthorizationCanceled(authorizer, nonce);
    }

    function _buildDomainSeparator() private view returns (bytes32) {
        return keccak256(
            abi.encode(
                EIP712_DOMAIN_TYPEHASH,
                keccak256(bytes(_name)),
                keccak256(bytes(_version)),
                block.chainid,
                address(this)
            )
        );
    }

    function _hashTypedData(bytes32 structHash) private view returns (bytes32) {
        return keccak256(abi.encodePacked("\x19\x01", DOMAIN_SEPARATOR(), structHash));
    }

    /// Whether `signature` over `digest` is `signer`'s: an ECDSA signature recovering to it,
    /// or, for a contract signer, its ERC-1271 `isValidSignature` approval.
    function _isValidSignature(address signer, bytes32 digest, bytes memory signature) private view returns (bool) {
        if (signer == address(0)) {
            return false;
        }
        if (signature.length == 65 && _recover(digest, signature) == signer) {
            return true;
        }
        if (signer.code.length == 0) {
            return false;
        }
        (bool ok, bytes memory answer) =
            signer.staticcall(abi.encodeWithSelector(ERC1271_MAGIC_VALUE, digest, signature));
        return ok && answer.length >= 32 && abi.decode(answer, (bytes32)) == bytes32(ERC1271_MAGIC_VALUE);
    }

    /// The ECDSA signer of `digest` from a 65-byte r‖s‖v signature (v ∈ {27, 28} or {0, 1});
    /// the zero address for a malformed or malleable (high-s) signature.
    function _recover(bytes32 digest, bytes memory signature) private pure returns (address) {
        bytes32 r;
        bytes32 s;
        uint8 v;
        assembly ("memory-safe") {
            r := mload(add(signature, 0x20))
            s := mload(add(signature, 0x40))
            v := byte(0, mload(add(signature, 0x60)))
        }
        if (uint256(s) > HALF_ORDER) {
            return address(0);
        }
        if (v < 27) {
            v += 27;
        }
        if (v != 27 && v != 28) {
            return address(0);
        }
        return ecrecover(digest, v, r, s);
    }
}
