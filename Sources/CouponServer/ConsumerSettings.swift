import CouponKafka

extension CouponEventConsumer.Settings {
    /// `coupongate consume`'s settings from its flags, else their `COUPONGATE_…` variables: the
    /// brokers (required), topic, group, dead-letter topic and security, and the database of record (required).
    public static func resolve(
        brokers: String?,
        topic: String?,
        group: String?,
        deadLetterTopic: String?,
        security: KafkaSecurityFlags = .init(),
        postgres: String?,
        mysql: String?,
        environment: [String: String]
    ) throws(SettingError) -> (settings: Self, database: DistributedConfiguration.Database) {
        let reader = SettingReader(environment: environment)
        guard let brokersSetting = reader.pick(brokers, option: "kafka", variable: "COUPONGATE_KAFKA_BROKERS") else {
            throw SettingError("consume needs --kafka HOST:PORT[,HOST:PORT…] (or COUPONGATE_KAFKA_BROKERS)")
        }
        guard let database = try DistributedConfiguration.database(postgres: postgres, mysql: mysql, settings: reader) else {
            throw SettingError(
                "consume needs the database of record: --postgres URL or --mysql URL (or COUPONGATE_POSTGRES_URL or COUPONGATE_MYSQL_URL)"
            )
        }
        var settings: Self
        do {
            settings = Self(brokers: try KafkaSinkSettings(brokerList: brokersSetting.text).brokers)
        } catch {
            throw SettingError("invalid value '\(brokersSetting.text)' for \(brokersSetting.source): \(error.message)")
        }
        if let setting = reader.pick(topic, option: "kafka-topic", variable: "COUPONGATE_KAFKA_TOPIC") {
            try KafkaSinkSettings.validateTopic(setting.text) { setting.invalid($0) }
            settings.topic = setting.text
        }
        if let setting = reader.pick(deadLetterTopic, option: "dead-letter-topic", variable: "COUPONGATE_KAFKA_DEAD_LETTER_TOPIC") {
            try KafkaSinkSettings.validateTopic(setting.text) { setting.invalid($0) }
            settings.deadLetterTopic = setting.text
        }
        if let setting = reader.pick(group, option: "group", variable: "COUPONGATE_KAFKA_GROUP") {
            guard !setting.text.isEmpty, setting.text.utf8.count <= 255, !setting.text.contains(where: \.isWhitespace) else {
                throw setting.invalid("expected a consumer group id: 1 to 255 characters without spaces")
            }
            settings.group = setting.text
        }
        settings.security = try security.resolve(reader)
        guard settings.deadLetters != settings.topic else {
            throw SettingError("the dead-letter topic must differ from the topic it serves ('\(settings.topic)')")
        }
        return (settings, database.database)
    }
}
