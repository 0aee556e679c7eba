import CMariaDB

/// The `MYSQL_BIND` array and value storage for a statement's parameters, alive until ``deallocate()``.
///
/// Connector/C reads the buffers during `mysql_stmt_execute`, after the Swift values' own storage
/// may have moved, so the values are copied into memory this type owns.
struct ParameterBuffers {
    let binds: UnsafeMutablePointer<MYSQL_BIND>
    private let integers: UnsafeMutablePointer<Int64>
    private let bytes: UnsafeMutableRawPointer
    private let count: Int

    init(_ parameters: [MySQLValue]) {
        self.count = parameters.count
        self.binds = .allocate(capacity: max(1, parameters.count))
        self.binds.initialize(repeating: MYSQL_BIND(), count: max(1, parameters.count))
        self.integers = .allocate(capacity: max(1, parameters.count))
        var textBytes = 0
        for case .text(let text) in parameters { textBytes += text.utf8.count }
        self.bytes = .allocate(byteCount: max(1, textBytes), alignment: 1)

        var offset = 0
        for (index, parameter) in parameters.enumerated() {
            switch parameter {
            case .int(let value):
                (self.integers + index).initialize(to: value)
                self.binds[index].buffer_type = MYSQL_TYPE_LONGLONG
                self.binds[index].buffer = UnsafeMutableRawPointer(self.integers + index)
            case .text(let text):
                let start = self.bytes + offset
                let length = text.utf8.count
                var contiguous = text
                contiguous.withUTF8 { utf8 in
                    if let base = utf8.baseAddress, !utf8.isEmpty { start.copyMemory(from: base, byteCount: utf8.count) }
                }
                offset += length
                self.binds[index].buffer_type = MYSQL_TYPE_STRING
                self.binds[index].buffer = start
                self.binds[index].buffer_length = UInt(length)
            case .null:
                self.binds[index].buffer_type = MYSQL_TYPE_NULL
            }
        }
    }

    func deallocate() {
        self.binds.deinitialize(count: max(1, self.count))
        self.binds.deallocate()
        self.integers.deallocate()
        self.bytes.deallocate()
    }
}

/// The `MYSQL_BIND` array a fetch writes each row's columns into.
///
/// Text columns get a fixed buffer; a longer value (Connector/C reports its full length) is read again
/// with `mysql_stmt_fetch_column` into a buffer of the right size.
struct ResultBuffers {
    static let textCapacity = 256

    let binds: UnsafeMutablePointer<MYSQL_BIND>
    private let columns: [MySQLColumn]
    private let integers: UnsafeMutablePointer<Int64>
    private let lengths: UnsafeMutablePointer<UInt>
    private let nulls: UnsafeMutablePointer<my_bool>
    private let errors: UnsafeMutablePointer<my_bool>
    private let texts: UnsafeMutableRawPointer

    init(_ columns: [MySQLColumn]) {
        let count = max(1, columns.count)
        self.columns = columns
        self.binds = .allocate(capacity: count)
        self.binds.initialize(repeating: MYSQL_BIND(), count: count)
        self.integers = .allocate(capacity: count)
        self.integers.initialize(repeating: 0, count: count)
        self.lengths = .allocate(capacity: count)
        self.lengths.initialize(repeating: 0, count: count)
        self.nulls = .allocate(capacity: count)
        self.nulls.initialize(repeating: 0, count: count)
        self.errors = .allocate(capacity: count)
        self.errors.initialize(repeating: 0, count: count)
        self.texts = .allocate(byteCount: count * Self.textCapacity, alignment: 1)
        for (index, column) in columns.enumerated() {
            self.binds[index].length = self.lengths + index
            self.binds[index].is_null = self.nulls + index
            self.binds[index].error = self.errors + index
            switch column {
            case .int:
                self.binds[index].buffer_type = MYSQL_TYPE_LONGLONG
                self.binds[index].buffer = UnsafeMutableRawPointer(self.integers + index)
            case .text:
                self.binds[index].buffer_type = MYSQL_TYPE_STRING
                self.binds[index].buffer = self.texts + index * Self.textCapacity
                self.binds[index].buffer_length = UInt(Self.textCapacity)
            }
        }
    }

    /// The fetched row's column `index`.
    func value(at index: Int, of statement: UnsafeMutablePointer<MYSQL_STMT>) throws(MySQLError) -> MySQLValue {
        if self.nulls[index] != 0 { return .null }
        switch self.columns[index] {
        case .int:
            guard self.errors[index] == 0 else {
                throw MySQLError.client("column \(index + 1) does not fit a 64-bit integer", sqlState: "22003")
            }
            return .int(self.integers[index])
        case .text:
            let length = Int(self.lengths[index])
            if length <= Self.textCapacity {
                let bytes = UnsafeRawBufferPointer(start: self.texts + index * Self.textCapacity, count: length)
                return .text(String(decoding: bytes, as: UTF8.self))
            }
            // Longer than the fixed buffer: fetch the whole value into one of its own.
            let whole = UnsafeMutableRawPointer.allocate(byteCount: length, alignment: 1)
            defer { whole.deallocate() }
            var bind = MYSQL_BIND()
            var fetched: UInt = 0
            bind.buffer_type = MYSQL_TYPE_STRING
            bind.buffer = whole
            bind.buffer_length = UInt(length)
            let status = withUnsafeMutablePointer(to: &fetched) { fetchedLength in
                bind.length = fetchedLength
                return mysql_stmt_fetch_column(statement, &bind, UInt32(index), 0)
            }
            guard status == 0 else { throw MySQLConnection.error(of: statement) }
            return .text(String(decoding: UnsafeRawBufferPointer(start: whole, count: length), as: UTF8.self))
        }
    }

    func deallocate() {
        let count = max(1, self.columns.count)
        self.binds.deinitialize(count: count)
        self.binds.deallocate()
        self.integers.deallocate()
        self.lengths.deallocate()
        self.nulls.deallocate()
        self.errors.deallocate()
        self.texts.deallocate()
    }
}
