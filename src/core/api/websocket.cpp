#include "api/websocket.hpp"

#include <algorithm>
#include <utility>

#include "base/chars.hpp"
#include "base/crypto.hpp"

namespace wa::ws {

namespace {

constexpr std::uint8_t kFin = 0x80;
constexpr std::uint8_t kRsv = 0x70;
constexpr std::uint8_t kOpcodeBits = 0x0F;
constexpr std::uint8_t kMaskBit = 0x80;
constexpr std::uint8_t kLengthBits = 0x7F;
constexpr std::uint8_t kLength16 = 126;
constexpr std::uint8_t kLength64 = 127;
constexpr std::size_t kMaskBytes = 4;

bool is_control(Opcode op) { return (static_cast<std::uint8_t>(op) & 0x08) != 0; }

bool known_opcode(std::uint8_t op) {
    switch (static_cast<Opcode>(op)) {
        case Opcode::continuation:
        case Opcode::text:
        case Opcode::binary:
        case Opcode::close:
        case Opcode::ping:
        case Opcode::pong: return true;
    }
    return false;
}

// RFC 6455 §7.4: what a close frame may carry. 1004-1006 and 1015 are
// reserved (never on the wire), 1016-2999 are unassigned protocol codes,
// 3000-4999 belong to libraries and applications; nothing defines 5000+.
bool valid_close_code(std::uint16_t code) {
    if (code < 1000 || code >= 5000) return false;
    if (code >= 3000) return true;
    return code <= 1014 && (code < 1004 || code > 1006);
}

// The extended length's size after the first two header bytes.
std::size_t extended_length_bytes(std::uint8_t len7) {
    return len7 == kLength16 ? 2 : len7 == kLength64 ? 8 : 0;
}

// Appends n bytes of v, most significant first.
void put_be(std::string& out, std::uint64_t v, int n) {
    for (int shift = (n - 1) * 8; shift >= 0; shift -= 8) {
        out.push_back(static_cast<char>((v >> shift) & 0xFF));
    }
}

// A frame as given: the header, then the payload, masked when mask is set.
std::string frame(Opcode op, std::string_view payload, bool fin,
                  const std::array<std::uint8_t, 4>* mask) {
    std::string out;
    out.reserve(payload.size() + 14);
    out.push_back(static_cast<char>((fin ? kFin : 0) | static_cast<std::uint8_t>(op)));
    const std::uint8_t mask_bit = mask ? kMaskBit : 0;
    if (payload.size() < kLength16) {
        out.push_back(static_cast<char>(mask_bit | payload.size()));
    } else if (payload.size() <= 0xFFFF) {
        out.push_back(static_cast<char>(mask_bit | kLength16));
        put_be(out, payload.size(), 2);
    } else {
        out.push_back(static_cast<char>(mask_bit | kLength64));
        put_be(out, payload.size(), 8);
    }
    if (mask == nullptr) {
        out.append(payload);
        return out;
    }
    out.append(mask->begin(), mask->end());
    for (std::size_t k = 0; k < payload.size(); k++) {
        out.push_back(static_cast<char>(payload[k] ^ (*mask)[k & 3]));
    }
    return out;
}

}  // namespace

bool valid_client_key(std::string_view sec_websocket_key) {
    std::string_view key = trim_space(sec_websocket_key);
    if (key.size() != 24) return false;
    auto raw = base64_decode(key);
    return raw && raw->size() == 16;
}

std::string accept_key(std::string_view key) {
    std::string input(trim_space(key));
    input.append(kAcceptGuid);
    return base64_encode(sha1(input));
}

std::string encode_frame(Opcode op, std::string_view payload) {
    if (is_control(op)) payload = payload.substr(0, kMaxControlPayload);
    return frame(op, payload, true, nullptr);
}

std::string encode_client_frame(Opcode op, std::string_view payload,
                                const std::array<std::uint8_t, 4>& mask, bool fin) {
    return frame(op, payload, fin, &mask);
}

std::string encode_close(std::uint16_t code, std::string_view reason) {
    if (code == close_code::no_status) return encode_frame(Opcode::close, {});
    std::string payload;
    put_be(payload, code, 2);
    payload.append(utf8_clip(reason, kMaxControlPayload - 2));
    return encode_frame(Opcode::close, payload);
}

Parser::Parser(std::size_t max_message) : max_message_(max_message) {}

void Parser::feed(std::string_view bytes, std::vector<Event>& out) {
    std::size_t i = 0;
    while (!finished_ && i < bytes.size()) {
        if (in_payload_) {
            read_payload(bytes, i, out);
        } else {
            read_header(bytes, i, out);
        }
    }
}

bool Parser::read_header(std::string_view bytes, std::size_t& i, std::vector<Event>& out) {
    while (i < bytes.size() && head_len_ < head_need_) {
        head_[head_len_++] = static_cast<std::uint8_t>(bytes[i++]);
        if (head_len_ == 2) {
            if (!check_start(out)) return false;
        } else if (head_len_ == head_need_ - kMaskBytes && head_len_ > 2) {
            if (!check_length(out)) return false;
        }
    }
    if (head_len_ < head_need_) return false;
    std::copy_n(head_.begin() + static_cast<std::ptrdiff_t>(head_need_ - kMaskBytes), kMaskBytes,
                mask_.begin());
    mask_at_ = 0;
    head_len_ = 0;
    head_need_ = 2;
    if (remaining_ == 0) {
        end_frame(out);
    } else {
        in_payload_ = true;
    }
    return true;
}

bool Parser::check_start(std::vector<Event>& out) {
    const std::uint8_t b0 = head_[0], b1 = head_[1];
    const std::uint8_t op = b0 & kOpcodeBits;
    const std::uint8_t len7 = b1 & kLengthBits;
    fin_ = (b0 & kFin) != 0;
    if ((b0 & kRsv) != 0) {
        fail(close_code::protocol_error, "RSV bits set without an extension", out);
        return false;
    }
    if (!known_opcode(op)) {
        fail(close_code::protocol_error, "unknown opcode " + std::to_string(op), out);
        return false;
    }
    op_ = static_cast<Opcode>(op);
    if ((b1 & kMaskBit) == 0) {
        fail(close_code::protocol_error, "client frame not masked", out);
        return false;
    }
    if (is_control(op_)) {
        if (!fin_) {
            fail(close_code::protocol_error, "fragmented control frame", out);
            return false;
        }
        if (len7 > kMaxControlPayload) {
            fail(close_code::protocol_error, "control frame longer than 125 bytes", out);
            return false;
        }
    } else if (op_ == Opcode::continuation) {
        if (!in_message_) {
            fail(close_code::protocol_error, "continuation frame without a message", out);
            return false;
        }
    } else {
        if (in_message_) {
            fail(close_code::protocol_error, "new message inside a fragmented one", out);
            return false;
        }
        in_message_ = true;
        message_op_ = op_;
        message_.clear();
        utf8_.reset();
    }
    const std::size_t ext = extended_length_bytes(len7);
    head_need_ = 2 + ext + kMaskBytes;
    if (ext > 0) return true;
    remaining_ = len7;
    return check_length(out);
}

bool Parser::check_length(std::vector<Event>& out) {
    const std::size_t ext = head_need_ - 2 - kMaskBytes;
    if (ext > 0) {
        remaining_ = 0;
        for (std::size_t k = 2; k < 2 + ext; k++) {
            remaining_ = (remaining_ << 8) | head_[k];
        }
        if (ext == 8 && (remaining_ >> 63) != 0) {
            fail(close_code::protocol_error, "64-bit length with its top bit set", out);
            return false;
        }
    }
    if (!is_control(op_) && remaining_ > max_message_ - message_.size()) {
        fail(close_code::too_big, "message larger than " + std::to_string(max_message_) + " bytes",
             out);
        return false;
    }
    return true;
}

void Parser::read_payload(std::string_view bytes, std::size_t& i, std::vector<Event>& out) {
    const std::size_t n =
        static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, bytes.size() - i));
    std::string& dest = is_control(op_) ? control_ : message_;
    const std::size_t start = dest.size();
    dest.append(bytes.substr(i, n));
    for (std::size_t k = start; k < dest.size(); k++) {
        dest[k] = static_cast<char>(dest[k] ^ mask_[mask_at_++ & 3]);
    }
    i += n;
    remaining_ -= n;
    if (&dest == &message_ && message_op_ == Opcode::text &&
        !utf8_.feed(std::string_view(message_).substr(start))) {
        fail(close_code::invalid_payload, "text message is not valid UTF-8", out);
        return;
    }
    if (remaining_ == 0) {
        in_payload_ = false;
        end_frame(out);
    }
}

void Parser::end_frame(std::vector<Event>& out) {
    if (op_ == Opcode::close) return end_close(out);
    if (is_control(op_)) {
        Event e;
        e.kind = op_ == Opcode::ping ? Event::Kind::ping : Event::Kind::pong;
        e.opcode = op_;
        e.payload = std::move(control_);
        control_.clear();
        out.push_back(std::move(e));
        return;
    }
    if (!fin_) return;
    if (message_op_ == Opcode::text && !utf8_.complete()) {
        return fail(close_code::invalid_payload, "text message is not valid UTF-8", out);
    }
    Event e;
    e.kind = Event::Kind::message;
    e.opcode = message_op_;
    e.payload = std::move(message_);
    message_ = std::string();
    in_message_ = false;
    out.push_back(std::move(e));
}

void Parser::end_close(std::vector<Event>& out) {
    Event e;
    e.kind = Event::Kind::close;
    e.opcode = Opcode::close;
    if (control_.empty()) {
        e.code = close_code::no_status;
    } else if (control_.size() == 1) {
        return fail(close_code::protocol_error, "close frame with a 1-byte payload", out);
    } else {
        e.code = static_cast<std::uint16_t>((static_cast<std::uint8_t>(control_[0]) << 8) |
                                            static_cast<std::uint8_t>(control_[1]));
        if (!valid_close_code(e.code)) {
            return fail(close_code::protocol_error, "invalid close code " + std::to_string(e.code),
                        out);
        }
        e.reason = control_.substr(2);
        if (!utf8_valid(e.reason)) {
            return fail(close_code::invalid_payload, "close reason is not valid UTF-8", out);
        }
    }
    control_.clear();
    finished_ = true;
    out.push_back(std::move(e));
}

void Parser::fail(std::uint16_t code, std::string reason, std::vector<Event>& out) {
    Event e;
    e.kind = Event::Kind::error;
    e.code = code;
    e.reason = std::move(reason);
    out.push_back(std::move(e));
    finished_ = true;
    message_ = std::string();
    control_ = std::string();
}

}  // namespace wa::ws
