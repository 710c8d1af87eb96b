/// The standard token and DEX events the registry knows without any user ABI.
///
/// Each definition carries the standard parameter names. ERC-20 and ERC-721 `Transfer` (and
/// `Approval`) share a signature and topic0; they differ only in whether the third value is
/// indexed, so a log's topic count tells them apart (3 topics: ERC-20, 4: ERC-721).
public enum KnownEvents {
    /// ERC-20 `Transfer(address indexed from, address indexed to, uint256 value)`.
    public static let erc20Transfer = make("Transfer(address indexed from, address indexed to, uint256 value)")
    /// ERC-20 `Approval(address indexed owner, address indexed spender, uint256 value)`.
    public static let erc20Approval = make("Approval(address indexed owner, address indexed spender, uint256 value)")
    /// ERC-721 `Transfer(address indexed from, address indexed to, uint256 indexed tokenId)`.
    public static let erc721Transfer = make(
        "Transfer(address indexed from, address indexed to, uint256 indexed tokenId)")
    /// ERC-721 `Approval(address indexed owner, address indexed approved, uint256 indexed tokenId)`.
    public static let erc721Approval = make(
        "Approval(address indexed owner, address indexed approved, uint256 indexed tokenId)")
    /// ERC-721 (and ERC-1155) `ApprovalForAll(address indexed owner, address indexed operator, bool approved)`.
    public static let erc721ApprovalForAll = make(
        "ApprovalForAll(address indexed owner, address indexed operator, bool approved)")
    /// ERC-1155 `TransferSingle(address indexed operator, address indexed from, address indexed to,
    /// uint256 id, uint256 value)`.
    public static let erc1155TransferSingle = make(
        "TransferSingle(address indexed operator, address indexed from, address indexed to, uint256 id, uint256 value)")
    /// ERC-1155 `TransferBatch(address indexed operator, address indexed from, address indexed to,
    /// uint256[] ids, uint256[] values)`.
    public static let erc1155TransferBatch = make(
        "TransferBatch(address indexed operator, address indexed from, address indexed to, uint256[] ids, uint256[] values)"
    )
    /// WETH9 `Deposit(address indexed dst, uint256 wad)`.
    public static let wethDeposit = make("Deposit(address indexed dst, uint256 wad)")
    /// WETH9 `Withdrawal(address indexed src, uint256 wad)`.
    public static let wethWithdrawal = make("Withdrawal(address indexed src, uint256 wad)")
    /// Uniswap V2 pair `Swap(address indexed sender, uint256 amount0In, uint256 amount1In,
    /// uint256 amount0Out, uint256 amount1Out, address indexed to)`.
    public static let uniswapV2Swap = make(
        "Swap(address indexed sender, uint256 amount0In, uint256 amount1In, uint256 amount0Out, "
            + "uint256 amount1Out, address indexed to)")
    /// Uniswap V2 pair `Sync(uint112 reserve0, uint112 reserve1)`.
    public static let uniswapV2Sync = make("Sync(uint112 reserve0, uint112 reserve1)")
    /// Uniswap V2 pair `Mint(address indexed sender, uint256 amount0, uint256 amount1)`.
    public static let uniswapV2Mint = make("Mint(address indexed sender, uint256 amount0, uint256 amount1)")
    /// Uniswap V2 pair `Burn(address indexed sender, uint256 amount0, uint256 amount1, address indexed to)`.
    public static let uniswapV2Burn = make(
        "Burn(address indexed sender, uint256 amount0, uint256 amount1, address indexed to)")
    /// Uniswap V3 pool `Swap(address indexed sender, address indexed recipient, int256 amount0,
    /// int256 amount1, uint160 sqrtPriceX96, uint128 liquidity, int24 tick)`.
    public static let uniswapV3Swap = make(
        "Swap(address indexed sender, address indexed recipient, int256 amount0, int256 amount1, "
            + "uint160 sqrtPriceX96, uint128 liquidity, int24 tick)")

    /// Every known event with the name of the ABI it belongs to (`erc20`, `erc721`, `erc1155`,
    /// `weth`, `uniswap-v2`, `uniswap-v3`).
    public static let all: [(source: String, event: EventDefinition)] = [
        ("erc20", erc20Transfer), ("erc20", erc20Approval),
        ("erc721", erc721Transfer), ("erc721", erc721Approval), ("erc721", erc721ApprovalForAll),
        ("erc1155", erc1155TransferSingle), ("erc1155", erc1155TransferBatch),
        ("weth", wethDeposit), ("weth", wethWithdrawal),
        ("uniswap-v2", uniswapV2Swap), ("uniswap-v2", uniswapV2Sync), ("uniswap-v2", uniswapV2Mint),
        ("uniswap-v2", uniswapV2Burn),
        ("uniswap-v3", uniswapV3Swap),
    ]

    /// Parses a constant signature of this file; the unit tests parse every one, so a failure
    /// here is a programming error in this file, not bad input.
    private static func make(_ signature: String) -> EventDefinition {
        do {
            return try EventDefinition(parsing: signature)
        } catch {
            fatalError("KnownEvents signature \(signature) is invalid: \(error)")
        }
    }
}
