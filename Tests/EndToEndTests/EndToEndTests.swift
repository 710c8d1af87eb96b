import Testing

/// The end-to-end suites run one after another: each starts devnets, a mock cluster and several
/// `tributary` processes, which on two cores would otherwise starve each other.
@Suite(.serialized) struct EndToEndTests {}
