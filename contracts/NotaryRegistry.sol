// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title NotaryRegistry
/// @notice Shared ledger of the notarial authorities. Records which office anchored which
///         Merkle root (RFC 9162 tree of certificate leaves), which leaves were revoked or
///         superseded, and each office's signing-certificate fingerprints with validity
///         windows, so that anyone can verify a certificate without trusting its issuer.
///         Offices are mutually distrustful: an anchor belongs to the office that made it
///         (the same root anchored by two offices does not collide), a leaf's status is
///         kept per office and changed only by the office that anchored a root holding it,
///         and `evidence` answers from the scope of the office whose key signed the document.
/// @dev Anchoring is the hot path and is kept to one storage read (the sender's account
///      record, which also carries its office's suspension and the global pause) and one new
///      slot (the packed anchor). Pause and suspension are therefore copied into each
///      account record by the rare administrative calls that change them.
contract NotaryRegistry {
    // ---------------------------------------------------------------- errors
    error NotAdmin();
    error IsPaused();
    error UnknownAccount(address account);
    error UnknownOffice(uint32 office);
    error OfficeSuspended(uint32 office);
    error OfficeCodeTaken(string code);
    error AccountInUse(address account);
    error RootAlreadyAnchored(bytes32 root);
    error RootNotAnchored(bytes32 root);
    error EmptyTree();
    error InvalidProof();
    error InvalidReason(uint8 reason);
    error LeafAlreadyClosed(bytes32 leaf);
    error InvalidValidity();
    error FingerprintTaken(bytes32 fingerprint);
    error UnknownFingerprint(bytes32 fingerprint);
    error InvalidRevocation(bytes32 fingerprint, uint64 revokedAt);

    // ---------------------------------------------------------------- events
    event OfficeRegistered(uint32 indexed office, string code, string name);
    event OfficeSuspensionChanged(uint32 indexed office, bool suspended);
    event OfficeAccountChanged(uint32 indexed office, address indexed account, bool active);
    event SigningKeyRegistered(uint32 indexed office, bytes32 indexed fingerprint, uint64 notBefore, uint64 notAfter);
    event SigningKeyRevoked(uint32 indexed office, bytes32 indexed fingerprint, uint64 revokedAt);
    event RootAnchored(uint32 indexed office, bytes32 indexed root, uint64 treeSize, bytes32 batchId);
    event LeafRevoked(uint32 indexed office, bytes32 indexed root, bytes32 indexed leaf, uint8 reason);
    event LeafSuperseded(uint32 indexed office, bytes32 indexed root, bytes32 indexed leaf, bytes32 successor);
    event PausedChanged(bool paused);
    event AdminChanged(address indexed admin);

    // ---------------------------------------------------------------- storage
    struct Office {
        bool registered;
        bool suspended;
        string code;
        string name;
    }

    /// One slot: office (32) + treeSize (64) + blockNumber (64) + timestamp (64).
    struct Anchor {
        uint32 office;
        uint64 treeSize;
        uint64 blockNumber;
        uint64 timestamp;
    }

    /// office (32) + notBefore (64) + notAfter (64) + revokedAt (64, 0 = not revoked), and
    /// the block time of registration: a key vouches only for signatures made after it.
    struct SigningKey {
        uint32 office;
        uint64 notBefore;
        uint64 notAfter;
        uint64 revokedAt;
        uint64 registeredAt;
    }

    /// One slot per anchoring account: the only state `anchor` reads.
    struct Account {
        uint32 office;
        bool officeSuspended;
        bool paused;
    }

    /// reason 0 = open; a superseded leaf also stores its successor leaf.
    struct LeafStatus {
        uint8 reason;
        uint64 blockNumber;
        bytes32 successor;
    }

    uint8 public constant REASON_SUPERSEDED = 255;

    address public admin;
    bool public paused;
    uint32 public officeCount;

    mapping(uint32 => Office) private _offices;
    mapping(bytes32 => uint32) private _officeByCode;
    mapping(address => Account) private _accounts;
    mapping(uint32 => address[]) private _officeAccounts; // may hold removed accounts; checked on use
    address[] private _allAccounts;
    mapping(bytes32 => Anchor) private _anchors; // keyed by _scoped(office, root)
    mapping(bytes32 => SigningKey) private _signingKeys;
    mapping(bytes32 => LeafStatus) private _leaves; // keyed by _scoped(office, leaf)

    constructor() {
        admin = msg.sender;
        emit AdminChanged(msg.sender);
    }

    // ---------------------------------------------------------------- modifiers
    modifier onlyAdmin() {
        if (msg.sender != admin) revert NotAdmin();
        _;
    }

    modifier whenNotPaused() {
        if (paused) revert IsPaused();
        _;
    }

    /// The storage key of a root or leaf within one office's scope.
    function _scoped(uint32 office, bytes32 value) private pure returns (bytes32 key) {
        assembly ("memory-safe") {
            mstore(0x00, office)
            mstore(0x20, value)
            key := keccak256(0x1c, 0x24)
        }
    }

    /// The office of a registered account, even while paused or suspended: an office can
    /// always take back (revoke, supersede) what it anchored.
    function _officeOf(address account) private view returns (uint32 office) {
        office = _accounts[account].office;
        if (office == 0) revert UnknownAccount(account);
    }

    function _activeOfficeOf(address account) private view returns (uint32 office) {
        Account memory acc = _accounts[account];
        office = acc.office;
        if (office == 0) revert UnknownAccount(account);
        if (acc.paused) revert IsPaused();
        if (acc.officeSuspended) revert OfficeSuspended(office);
    }

    // ---------------------------------------------------------------- administration
    function setAdmin(address newAdmin) external onlyAdmin {
        admin = newAdmin;
        emit AdminChanged(newAdmin);
    }

    function setPaused(bool value) external onlyAdmin {
        paused = value;
        for (uint256 i = 0; i < _allAccounts.length; i++) {
            Account storage acc = _accounts[_allAccounts[i]];
            if (acc.office != 0) acc.paused = value;
        }
        emit PausedChanged(value);
    }

    /// @notice Register an office with its anchoring accounts. Office numbers start at 1.
    function registerOffice(string calldata code, string calldata name, address[] calldata accounts)
        external onlyAdmin whenNotPaused returns (uint32 office)
    {
        bytes32 codeHash = keccak256(bytes(code));
        if (_officeByCode[codeHash] != 0) revert OfficeCodeTaken(code);
        office = ++officeCount;
        _offices[office] = Office({registered: true, suspended: false, code: code, name: name});
        _officeByCode[codeHash] = office;
        emit OfficeRegistered(office, code, name);
        for (uint256 i = 0; i < accounts.length; i++) {
            _setAccount(office, accounts[i], true);
        }
    }

    function setOfficeAccount(uint32 office, address account, bool active) external onlyAdmin whenNotPaused {
        if (!_offices[office].registered) revert UnknownOffice(office);
        _setAccount(office, account, active);
    }

    function _setAccount(uint32 office, address account, bool active) private {
        uint32 current = _accounts[account].office;
        if (active) {
            if (current != 0 && current != office) revert AccountInUse(account);
            if (current == 0) {
                _accounts[account] = Account(office, _offices[office].suspended, paused);
                _officeAccounts[office].push(account);
                _allAccounts.push(account);
            }
        } else {
            if (current != office) revert UnknownAccount(account);
            delete _accounts[account];
        }
        emit OfficeAccountChanged(office, account, active);
    }

    function setOfficeSuspended(uint32 office, bool suspended) external onlyAdmin {
        if (!_offices[office].registered) revert UnknownOffice(office);
        _offices[office].suspended = suspended;
        address[] storage accounts = _officeAccounts[office];
        for (uint256 i = 0; i < accounts.length; i++) {
            Account storage acc = _accounts[accounts[i]];
            if (acc.office == office) acc.officeSuspended = suspended;
        }
        emit OfficeSuspensionChanged(office, suspended);
    }

    /// @notice Register the SHA-256 fingerprint of an office signing certificate.
    function registerSigningKey(uint32 office, bytes32 fingerprint, uint64 notBefore, uint64 notAfter)
        external onlyAdmin whenNotPaused
    {
        if (!_offices[office].registered) revert UnknownOffice(office);
        if (notAfter <= notBefore) revert InvalidValidity();
        if (_signingKeys[fingerprint].office != 0) revert FingerprintTaken(fingerprint);
        _signingKeys[fingerprint] = SigningKey(office, notBefore, notAfter, 0, uint64(block.timestamp));
        emit SigningKeyRegistered(office, fingerprint, notBefore, notAfter);
    }

    /// @notice Mark a signing key compromised or retired from `revokedAt` (unix seconds) on.
    ///         One-way: a revoked key is never restored, and its revocation can only move
    ///         earlier (a compromise found to have started sooner). Allowed while paused.
    function revokeSigningKey(bytes32 fingerprint, uint64 revokedAt) external onlyAdmin {
        SigningKey storage key = _signingKeys[fingerprint];
        if (key.office == 0) revert UnknownFingerprint(fingerprint);
        if (revokedAt == 0 || (key.revokedAt != 0 && revokedAt >= key.revokedAt)) {
            revert InvalidRevocation(fingerprint, revokedAt);
        }
        key.revokedAt = revokedAt;
        emit SigningKeyRevoked(key.office, fingerprint, revokedAt);
    }

    // ---------------------------------------------------------------- anchoring
    /// @notice Anchor the root of an RFC 9162 Merkle tree of `treeSize` certificate leaves.
    /// @dev The pause is checked through the account record (see the contract note).
    function anchor(bytes32 root, uint64 treeSize, bytes32 batchId) external {
        uint32 office = _activeOfficeOf(msg.sender);
        if (treeSize == 0) revert EmptyTree();
        bytes32 key = _scoped(office, root);
        if (_anchors[key].blockNumber != 0) revert RootAlreadyAnchored(root);
        _anchors[key] = Anchor(office, treeSize, uint64(block.number), uint64(block.timestamp));
        emit RootAnchored(office, root, treeSize, batchId);
    }

    /// @notice Revoke one certificate leaf of an anchored root, proven by its inclusion proof.
    function revokeLeaf(bytes32 root, bytes32 leaf, uint64 index, bytes32[] calldata proof, uint8 reason) external {
        if (reason == 0 || reason == REASON_SUPERSEDED) revert InvalidReason(reason);
        uint32 office = _closeLeaf(root, leaf, index, proof);
        _leaves[_scoped(office, leaf)] = LeafStatus(reason, uint64(block.number), bytes32(0));
        emit LeafRevoked(office, root, leaf, reason);
    }

    /// @notice Record that `leaf` was corrected (更正) and is replaced by `successor`.
    function supersedeLeaf(bytes32 root, bytes32 leaf, uint64 index, bytes32[] calldata proof, bytes32 successor)
        external
    {
        uint32 office = _closeLeaf(root, leaf, index, proof);
        _leaves[_scoped(office, leaf)] = LeafStatus(REASON_SUPERSEDED, uint64(block.number), successor);
        emit LeafSuperseded(office, root, leaf, successor);
    }

    function _closeLeaf(bytes32 root, bytes32 leaf, uint64 index, bytes32[] calldata proof)
        private view returns (uint32 office)
    {
        // Only the sender's own office's anchor counts: another office's root holding the
        // same leaf is a different anchor in another scope.
        office = _officeOf(msg.sender);
        Anchor memory a = _anchors[_scoped(office, root)];
        if (a.blockNumber == 0) revert RootNotAnchored(root);
        if (_leaves[_scoped(office, leaf)].reason != 0) revert LeafAlreadyClosed(leaf);
        if (!verifyInclusion(leaf, index, a.treeSize, proof, root)) revert InvalidProof();
    }

    // ---------------------------------------------------------------- views
    /// Everything a verifier asks the ledger about one certificate, read in one call at one
    /// block: the signing key and its office, and — in that office's scope only — the anchor
    /// of `root` and the status of `leaf`.
    struct Evidence {
        uint64 headBlock;
        uint32 keyOffice;
        uint64 keyNotBefore;
        uint64 keyNotAfter;
        uint64 keyRevokedAt;
        uint64 keyRegisteredAt;
        bool officeRegistered;
        bool officeSuspended;
        string officeCode;
        string officeName;
        uint32 anchorOffice;
        uint64 anchorTreeSize;
        uint64 anchorBlock;
        uint64 anchorTime;
        uint8 leafReason;
        uint64 leafBlock;
        bytes32 leafSuccessor;
    }

    function evidence(bytes32 fingerprint, bytes32 root, bytes32 leaf) external view returns (Evidence memory e) {
        e.headBlock = uint64(block.number);
        SigningKey memory k = _signingKeys[fingerprint];
        (e.keyOffice, e.keyNotBefore, e.keyNotAfter, e.keyRevokedAt, e.keyRegisteredAt) =
            (k.office, k.notBefore, k.notAfter, k.revokedAt, k.registeredAt);
        if (k.office == 0) return e; // no key, no office: nothing in any scope vouches for it
        Office storage o = _offices[k.office];
        (e.officeRegistered, e.officeSuspended, e.officeCode, e.officeName) = (o.registered, o.suspended, o.code, o.name);
        Anchor memory a = _anchors[_scoped(k.office, root)];
        (e.anchorOffice, e.anchorTreeSize, e.anchorBlock, e.anchorTime) = (a.office, a.treeSize, a.blockNumber, a.timestamp);
        LeafStatus memory l = _leaves[_scoped(k.office, leaf)];
        (e.leafReason, e.leafBlock, e.leafSuccessor) = (l.reason, l.blockNumber, l.successor);
    }

    /// @notice RFC 9162 section 2.1.3.2 inclusion proof verification; `leaf` is the leaf hash.
    function verifyInclusion(bytes32 leaf, uint64 index, uint64 treeSize, bytes32[] calldata proof, bytes32 root)
        public pure returns (bool)
    {
        if (index >= treeSize) return false;
        uint64 fn = index;
        uint64 sn = treeSize - 1;
        bytes32 r = leaf;
        for (uint256 i = 0; i < proof.length; i++) {
            if (sn == 0) return false;
            if (fn & 1 == 1 || fn == sn) {
                r = sha256(abi.encodePacked(bytes1(0x01), proof[i], r));
                if (fn & 1 == 0) {
                    while (fn & 1 == 0 && fn != 0) {
                        fn >>= 1;
                        sn >>= 1;
                    }
                }
            } else {
                r = sha256(abi.encodePacked(bytes1(0x01), r, proof[i]));
            }
            fn >>= 1;
            sn >>= 1;
        }
        return sn == 0 && r == root;
    }

    /// @notice `office`'s anchor of `root` (zeros when that office never anchored it).
    function getAnchor(uint32 office, bytes32 root)
        external view returns (uint32 anchorOffice, uint64 treeSize, uint64 blockNumber, uint64 timestamp)
    {
        Anchor memory a = _anchors[_scoped(office, root)];
        return (a.office, a.treeSize, a.blockNumber, a.timestamp);
    }

    /// @notice True when `office` anchored `root` in a block at or before `blockNumber`.
    function anchoredBefore(uint32 office, bytes32 root, uint64 blockNumber) external view returns (bool) {
        uint64 at = _anchors[_scoped(office, root)].blockNumber;
        return at != 0 && at <= blockNumber;
    }

    function getOffice(uint32 office)
        external view returns (bool registered, bool suspended, string memory code, string memory name)
    {
        Office storage o = _offices[office];
        return (o.registered, o.suspended, o.code, o.name);
    }

    function officeByCode(string calldata code) external view returns (uint32) {
        return _officeByCode[keccak256(bytes(code))];
    }

    function officeOfAccount(address account) external view returns (uint32) {
        return _accounts[account].office;
    }

    function getSigningKey(bytes32 fingerprint)
        external view returns (uint32 office, uint64 notBefore, uint64 notAfter, uint64 revokedAt, uint64 registeredAt)
    {
        SigningKey memory k = _signingKeys[fingerprint];
        return (k.office, k.notBefore, k.notAfter, k.revokedAt, k.registeredAt);
    }

    /// @notice The status of `leaf` as recorded by `office` (the office that anchored it).
    function getLeafStatus(uint32 office, bytes32 leaf)
        external view returns (uint8 reason, uint64 blockNumber, bytes32 successor)
    {
        LeafStatus memory s = _leaves[_scoped(office, leaf)];
        return (s.reason, s.blockNumber, s.successor);
    }
}
