import Testing

@testable import Kafka

@Suite struct BrokerAddressTests {
    @Test func parsesHostPortListsAndIPv6() throws {
        #expect(try KafkaBrokerAddress.list(parsing: "a:1, b:9093") == [.init(host: "a", port: 1), .init(host: "b", port: 9093)])
        #expect(try KafkaBrokerAddress(parsing: "kafka") == .init(host: "kafka", port: 9092))
        #expect(try KafkaBrokerAddress(parsing: "[::1]:19092") == .init(host: "::1", port: 19092))
        #expect(KafkaBrokerAddress(host: "::1", port: 1).description == "[::1]:1")
    }

    @Test(arguments: ["", ":9092", "a:0", "a:70000", "a:x", "[::1", "[::1]x"])
    func refusesBadAddressesNamingThem(_ text: String) {
        let error = #expect(throws: KafkaError.self) { try KafkaBrokerAddress.list(parsing: text) }
        #expect(error?.code == .invalidArgument)
        if !text.isEmpty { #expect(error?.message.contains(text) == true) }
    }
}
