import CRdKafka
import EventLog

extension EventLogError {
    /// An error for a librdkafka response code, with librdkafka's own description appended.
    ///
    /// - Parameters:
    ///   - code: The librdkafka error.
    ///   - context: What was being done, for example `appending to 'orders'`.
    ///   - detail: librdkafka's detailed message when there is one (it replaces the generic text).
    init(
        kafka code: rd_kafka_resp_err_t, _ context: String, detail: String? = nil, file: String = #fileID,
        line: Int = #line
    ) {
        let text = detail ?? String(cString: rd_kafka_err2str(code))
        let (kind, advice) = Self.classify(code)
        let reason = "\(context) failed: \(text)" + (advice.map { " (\($0))" } ?? "")
        self.init(kind, reason, file: file, line: line)
    }

    /// An error from an owned `rd_kafka_error_t`, which it destroys.
    init(kafkaError error: OpaquePointer, _ context: String, file: String = #fileID, line: Int = #line) {
        let code = rd_kafka_error_code(error)
        let detail = String(cString: rd_kafka_error_string(error))
        rd_kafka_error_destroy(error)
        self.init(kafka: code, context, detail: detail, file: file, line: line)
    }

    private static func classify(_ code: rd_kafka_resp_err_t) -> (Code, String?) {
        switch code {
        case RD_KAFKA_RESP_ERR__TIMED_OUT, RD_KAFKA_RESP_ERR__MSG_TIMED_OUT, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
            return (.timeout, "check that the brokers are up and reachable, or raise the timeout")
        case RD_KAFKA_RESP_ERR__TRANSPORT, RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN, RD_KAFKA_RESP_ERR__RESOLVE,
            RD_KAFKA_RESP_ERR__WAIT_COORD, RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE,
            RD_KAFKA_RESP_ERR_BROKER_NOT_AVAILABLE, RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE,
            RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS:
            return (.unavailable, "check bootstrapServers and that the brokers are up")
        case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART, RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
            return (.unknownTopic, "create the topic first or check its name")
        case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
            return (.invalidArgument, "the partition does not exist in the topic")
        case RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS:
            return (.conflict, nil)
        case RD_KAFKA_RESP_ERR__INVALID_ARG, RD_KAFKA_RESP_ERR_INVALID_PARTITIONS,
            RD_KAFKA_RESP_ERR_INVALID_REPLICATION_FACTOR, RD_KAFKA_RESP_ERR_INVALID_CONFIG,
            RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION, RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE,
            RD_KAFKA_RESP_ERR_INVALID_REQUIRED_ACKS:
            return (.invalidArgument, nil)
        case RD_KAFKA_RESP_ERR__DESTROY, RD_KAFKA_RESP_ERR__FENCED:
            return (.closed, nil)
        case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED, RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED,
            RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED, RD_KAFKA_RESP_ERR__AUTHENTICATION:
            return (.unavailable, "check the credentials and ACLs in extraProperties")
        default:
            return (.io, nil)
        }
    }
}

extension String {
    /// The NUL-terminated text librdkafka wrote into an error buffer.
    init(cBuffer buffer: [CChar]) {
        self.init(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
