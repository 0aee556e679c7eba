import CouponCore
import CouponMySQL
import CouponStore
import CouponTestSupport
import Foundation
import Kafka
import LocalServers
import Logging
import RESP
import Testing

extension IntegrationTests {
    /// The throwaway servers `loadtest --stack` starts: each answers at the address it gives, holds data
    /// the way the stack uses it, and once stopped nothing of it runs (PostgreSQL's backends included).
    @Suite struct LocalServersTests {
        static let logger = Logger(label: "LocalServersTests")

        private func withFolder(_ body: (URL) async throws -> Void) async throws {
            let folder = FileManager.default.temporaryDirectory.appending(path: "cg-local-\(UUID().uuidString.prefix(8))")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: folder) }
            try await body(folder)
        }

        /// Stops `process` and checks that it and every descendant it had are gone.
        private func stopCompletely(_ process: LocalProcess) async {
            let tree = [process.pid] + ProcessCPU.descendants(of: process.pid)
            await process.stop()
            #expect(!process.isRunning)
            let left = tree.filter { kill($0, 0) == 0 && !Self.isZombie($0) }
            #expect(left.isEmpty, "\(process.name) left \(left) running")
        }

        private static func isZombie(_ pid: Int32) -> Bool {
            let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
            return stat.split(separator: ")").last?.split(separator: " ").first == "Z"
        }

        /// A store on the server creates its tables and keeps what it is given.
        private func expectItKeepsACampaign(_ store: some DatabaseOfRecord) async throws {
            let campaign = try Campaign(id: CampaignID(validating: "local"), name: "local", limit: 3, startsAt: nil, endsAt: nil, createdAt: .now)
            try await store.write([.createCampaign(campaign)])
            #expect(try await store.campaigns().map(\.id) == [campaign.id])
        }

        @Test func redisKeepsAnAOFAndAnswers() async throws {
            try await self.withFolder { folder in
                let redis = try await LocalRedis.start(in: folder)
                let client = RedisClient(configuration: RedisConfiguration(endpoint: .tcp(host: "127.0.0.1", port: redis.port)), logger: Self.logger)
                try await withRunning(client) { client in
                    #expect(try await client.send(RedisCommand("SET", ["k", "v"])) == .simpleString("OK"))
                    let config = try await client.send(RedisCommand("CONFIG", ["GET", "appendfsync"]))
                    #expect("\(config)".contains("always"))
                }
                #expect(redis.url == "redis://127.0.0.1:\(redis.port)")
                await self.stopCompletely(redis.process)
            }
        }

        @Test func postgresTakesTheStoreAndStopsWithItsBackends() async throws {
            try await self.withFolder { folder in
                let postgres = try await LocalPostgres.start(in: folder.appending(path: "postgres"))
                try await TestPostgres.withStore(try PostgresURL(postgres.url)) { store in
                    try await self.expectItKeepsACampaign(store)
                    #expect(ProcessCPU.ofTree(rootedAt: postgres.process.pid) > 0)
                }
                await self.stopCompletely(postgres.process)
            }
        }

        @Test func mariaDBTakesTheStore() async throws {
            try await self.withFolder { folder in
                let mariadb = try await LocalMariaDB.start(in: folder.appending(path: "mariadb"))
                try await TestMySQL.withStore(try MySQLURL(mariadb.url)) { store in
                    try await self.expectItKeepsACampaign(store)
                }
                await self.stopCompletely(mariadb.process)
            }
        }

        @Test func tansuCreatesATopic() async throws {
            try await self.withFolder { folder in
                let tansu = try await LocalTansu.start(in: folder)
                let producer = KafkaProducer(
                    configuration: .init(client: KafkaClientConfiguration(brokers: try KafkaBrokerAddress.list(parsing: tansu.bootstrap))),
                    logger: Self.logger
                )
                let (created, partitions) = try await withRunning([producer]) {
                    (try await producer.createTopicIfMissing("local", partitions: 2), try await producer.partitionCount(of: "local"))
                }
                #expect(created)
                #expect(partitions == 2)
                await self.stopCompletely(tansu.process)
            }
        }

        @Test func aMissingProgramNamesItsPackage() async throws {
            let error = #expect(throws: LocalServerError.self) {
                try LocalExecutable.find(["no-such-server-program"], package: "the-package")
            }
            #expect(error?.description == "no-such-server-program not found: install the-package")
        }
    }
}
