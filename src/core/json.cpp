#include "json.hpp"

#include <cstring>

namespace pgstripe {

namespace {

inline bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

inline int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// Length of the valid UTF-8 sequence at p (1..4), or 0 if invalid.
inline int utf8_len(const unsigned char *p, const unsigned char *end) {
    unsigned char c = p[0];
    if (c < 0x80) return 1;
    int n;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) { n = 2; cp = c & 0x1F; }
    else if (c >= 0xE0 && c <= 0xEF) { n = 3; cp = c & 0x0F; }
    else if (c >= 0xF0 && c <= 0xF4) { n = 4; cp = c & 0x07; }
    else return 0;
    if (end - p < n) return 0;
    for (int i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF))) return 0;
    if (cp >= 0xD800 && cp <= 0xDFFF) return 0;
    return n;
}

void put_utf8(std::string &out, uint32_t cp) {
    if (cp < 0x80) {
        out += char(cp);
    } else if (cp < 0x800) {
        out += char(0xC0 | (cp >> 6));
        out += char(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += char(0xE0 | (cp >> 12));
        out += char(0x80 | ((cp >> 6) & 0x3F));
        out += char(0x80 | (cp & 0x3F));
    } else {
        out += char(0xF0 | (cp >> 18));
        out += char(0x80 | ((cp >> 12) & 0x3F));
        out += char(0x80 | ((cp >> 6) & 0x3F));
        out += char(0x80 | (cp & 0x3F));
    }
}

}  // namespace

bool valid_utf8(std::string_view s) {
    auto p = reinterpret_cast<const unsigned char *>(s.data()), end = p + s.size();
    while (p < end) {
        if (*p < 0x80) { p++; continue; }
        int n = utf8_len(p, end);
        if (!n) return false;
        p += n;
    }
    return true;
}

std::string json_unescape(std::string_view raw) {
    std::string out;
    out.reserve(raw.size());
    for (size_t i = 0; i < raw.size(); i++) {
        char c = raw[i];
        if (c != '\\') { out += c; continue; }
        char e = raw[++i];
        switch (e) {
            case '"': out += '"'; break;
            case '\\': out += '\\'; break;
            case '/': out += '/'; break;
            case 'b': out += '\b'; break;
            case 'f': out += '\f'; break;
            case 'n': out += '\n'; break;
            case 'r': out += '\r'; break;
            case 't': out += '\t'; break;
            case 'u': {
                uint32_t cp = 0;
                for (int k = 1; k <= 4; k++) cp = cp * 16 + hexval(raw[i + k]);
                i += 4;
                if (cp >= 0xD800 && cp <= 0xDBFF) {  // validated: a low surrogate follows
                    uint32_t lo = 0;
                    for (int k = 3; k <= 6; k++) lo = lo * 16 + hexval(raw[i + k]);
                    i += 6;
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                }
                put_utf8(out, cp);
                break;
            }
        }
    }
    return out;
}

bool JsonDoc::fail(const char *what, const char *at) {
    error_ = std::string(what) + " at byte " + std::to_string(at - begin_);
    return false;
}

void JsonDoc::skip_ws() {
    while (p_ < end_ && is_ws(*p_)) p_++;
}

bool JsonDoc::parse(std::string_view in) {
    begin_ = p_ = in.data();
    end_ = in.data() + in.size();
    nodes_.clear();
    error_.clear();
    skip_ws();
    if (!value(0)) return false;
    skip_ws();
    if (p_ != end_) return fail("unexpected text after the JSON value", p_);
    return true;
}

bool JsonDoc::string(std::string_view *out, bool *escaped) {
    // p_ is on the opening quote.
    const char *start = ++p_;
    *escaped = false;
    while (true) {
        if (p_ >= end_) return fail("unterminated string", start - 1);
        unsigned char c = static_cast<unsigned char>(*p_);
        if (c == '"') break;
        if (c < 0x20) return fail("control character in string", p_);
        if (c == '\\') {
            *escaped = true;
            if (++p_ >= end_) return fail("unterminated string", start - 1);
            char e = *p_;
            if (e == 'u') {
                auto hex4 = [&](const char *q, uint32_t *cp) {
                    if (end_ - q < 4) return false;
                    uint32_t v = 0;
                    for (int k = 0; k < 4; k++) {
                        int h = hexval(q[k]);
                        if (h < 0) return false;
                        v = v * 16 + h;
                    }
                    *cp = v;
                    return true;
                };
                uint32_t cp;
                if (!hex4(p_ + 1, &cp)) return fail("bad \\u escape", p_ - 1);
                if (cp == 0) return fail("\\u0000 is not allowed", p_ - 1);
                p_ += 4;
                if (cp >= 0xDC00 && cp <= 0xDFFF) return fail("unpaired low surrogate", p_ - 5);
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    uint32_t lo;
                    if (end_ - p_ < 7 || p_[1] != '\\' || p_[2] != 'u' || !hex4(p_ + 3, &lo) || lo < 0xDC00 ||
                        lo > 0xDFFF)
                        return fail("unpaired high surrogate", p_ - 5);
                    p_ += 6;
                }
                p_++;
            } else if (e == '"' || e == '\\' || e == '/' || e == 'b' || e == 'f' || e == 'n' || e == 'r' ||
                       e == 't') {
                p_++;
            } else {
                return fail("bad escape", p_ - 1);
            }
        } else if (c < 0x80) {
            p_++;
        } else {
            int n = utf8_len(reinterpret_cast<const unsigned char *>(p_), reinterpret_cast<const unsigned char *>(end_));
            if (!n) return fail("invalid UTF-8", p_);
            p_ += n;
        }
    }
    *out = std::string_view(start, p_ - start);
    p_++;  // closing quote
    return true;
}

bool JsonDoc::number() {
    const char *q = p_;
    if (q < end_ && *q == '-') q++;
    if (q >= end_) return fail("bad number", p_);
    if (*q == '0') {
        q++;
    } else if (*q >= '1' && *q <= '9') {
        while (q < end_ && *q >= '0' && *q <= '9') q++;
    } else {
        return fail("bad number", p_);
    }
    if (q < end_ && *q == '.') {
        q++;
        if (q >= end_ || *q < '0' || *q > '9') return fail("bad number", p_);
        while (q < end_ && *q >= '0' && *q <= '9') q++;
    }
    if (q < end_ && (*q == 'e' || *q == 'E')) {
        q++;
        if (q < end_ && (*q == '+' || *q == '-')) q++;
        if (q >= end_ || *q < '0' || *q > '9') return fail("bad number", p_);
        while (q < end_ && *q >= '0' && *q <= '9') q++;
    }
    p_ = q;
    return true;
}

bool JsonDoc::value(int depth) {
    skip_ws();
    if (p_ >= end_) return fail("unexpected end of input", p_);
    uint32_t self = static_cast<uint32_t>(nodes_.size());
    nodes_.emplace_back();
    const char *start = p_;
    switch (*p_) {
        case '{':
        case '[': {
            bool obj = *p_ == '{';
            if (depth >= kMaxDepth) return fail("JSON nested too deeply", p_);
            nodes_[self].kind = obj ? JsonKind::Object : JsonKind::Array;
            p_++;
            skip_ws();
            uint32_t prev = 0;
            if (p_ < end_ && *p_ == (obj ? '}' : ']')) {
                p_++;
                break;
            }
            while (true) {
                std::string_view key;
                bool key_esc = false;
                if (obj) {
                    skip_ws();
                    if (p_ >= end_ || *p_ != '"') return fail("expected a member name", p_);
                    if (!string(&key, &key_esc)) return false;
                    skip_ws();
                    if (p_ >= end_ || *p_ != ':') return fail("expected ':'", p_);
                    p_++;
                }
                uint32_t child = static_cast<uint32_t>(nodes_.size());
                if (!value(depth + 1)) return false;
                nodes_[child].key = key;
                nodes_[child].key_has_escape = key_esc;
                if (prev) nodes_[prev].next_sibling = child;
                else nodes_[self].first_child = child;
                prev = child;
                skip_ws();
                if (p_ >= end_) return fail("unexpected end of input", p_);
                if (*p_ == ',') { p_++; continue; }
                if (*p_ == (obj ? '}' : ']')) { p_++; break; }
                return fail(obj ? "expected ',' or '}'" : "expected ',' or ']'", p_);
            }
            break;
        }
        case '"': {
            std::string_view s;
            bool esc;
            if (!string(&s, &esc)) return false;
            nodes_[self].kind = JsonKind::String;
            nodes_[self].text = s;
            nodes_[self].has_escape = esc;
            return true;
        }
        case 't':
            if (end_ - p_ >= 4 && std::memcmp(p_, "true", 4) == 0) { nodes_[self].kind = JsonKind::True; p_ += 4; break; }
            return fail("invalid literal", p_);
        case 'f':
            if (end_ - p_ >= 5 && std::memcmp(p_, "false", 5) == 0) { nodes_[self].kind = JsonKind::False; p_ += 5; break; }
            return fail("invalid literal", p_);
        case 'n':
            if (end_ - p_ >= 4 && std::memcmp(p_, "null", 4) == 0) { nodes_[self].kind = JsonKind::Null; p_ += 4; break; }
            return fail("invalid literal", p_);
        default:
            if (*p_ == '-' || (*p_ >= '0' && *p_ <= '9')) {
                if (!number()) return false;
                nodes_[self].kind = JsonKind::Number;
                break;
            }
            if (static_cast<unsigned char>(*p_) == 0xEF) return fail("byte order mark is not JSON", p_);
            return fail("unexpected character", p_);
    }
    nodes_[self].text = std::string_view(start, p_ - start);
    return true;
}

uint32_t JsonDoc::member(uint32_t obj, std::string_view name) const {
    if (obj >= nodes_.size() || nodes_[obj].kind != JsonKind::Object) return 0;
    uint32_t found = 0;
    for (uint32_t c = nodes_[obj].first_child; c; c = nodes_[c].next_sibling) {
        const JsonNode &n = nodes_[c];
        if (n.key_has_escape ? json_unescape(n.key) == name : n.key == name) found = c;
    }
    return found;
}

uint32_t JsonDoc::path(uint32_t obj, std::string_view dotted) const {
    uint32_t cur = obj;
    while (true) {
        size_t dot = dotted.find('.');
        cur = member(cur, dotted.substr(0, dot));
        if (!cur || dot == std::string_view::npos) return cur;
        dotted.remove_prefix(dot + 1);
    }
}

std::string JsonDoc::string_value(uint32_t i) const {
    const JsonNode &n = nodes_[i];
    return n.has_escape ? json_unescape(n.text) : std::string(n.text);
}

}  // namespace pgstripe
