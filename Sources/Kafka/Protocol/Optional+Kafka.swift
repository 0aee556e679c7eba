extension Optional {
    /// The value, or `error` thrown: for reads inside a message whose whole length is known,
    /// where missing bytes mean the message is truncated rather than still arriving.
    func unwrap(or error: @autoclosure () -> KafkaError) throws -> Wrapped {
        guard let self else { throw error() }
        return self
    }
}
