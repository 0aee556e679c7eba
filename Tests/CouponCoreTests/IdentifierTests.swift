import CouponCore
import Testing

@Suite struct UserIDTests {
    @Test(arguments: [("1", Int64(1)), ("42", 42), ("9223372036854775807", Int64.max)])
    func parsesDecimalIntegers(text: String, value: Int64) throws {
        #expect(try UserID(parsing: text).rawValue == value)
    }

    @Test(arguments: [
        "", "0", "-1", "+1", "abc", "1e3", "1.0", " 1", "1 ", "0x10", "9223372036854775808", "99999999999999999999",
        String(repeating: "9", count: 10_000), "١٢", "007", "00", "0000000000000000007",
    ])
    func rejectsEverythingElse(text: String) {
        #expect(throws: CouponError.self) { try UserID(parsing: text) }
        do {
            _ = try UserID(parsing: text)
        } catch {
            #expect(error.code == .invalidUserID)
            #expect(error.message.contains("userId"))
        }
    }

    @Test func longInputIsNotEchoedInFull() throws {
        let text = String(repeating: "7", count: 10_000)
        let error = try #require(throws: CouponError.self) { try UserID(parsing: text) }
        #expect(error.message.count < 200)
    }
}

@Suite struct CampaignIDTests {
    @Test(arguments: ["default", "a", "Spring-Drop_2026", String(repeating: "x", count: 64)])
    func acceptsTheAlphabet(text: String) throws {
        #expect(try CampaignID(validating: text).rawValue == text)
    }

    @Test(arguments: ["", String(repeating: "x", count: 65), "has space", "slash/ed", "quote\"", "ünï", "dot.ted"])
    func rejectsOthers(text: String) throws {
        let error = try #require(throws: CouponError.self) { try CampaignID(validating: text) }
        #expect(error.code == .invalidCampaignID)
    }
}
