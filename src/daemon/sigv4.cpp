// Copyright lqs authors.
#include "daemon/sigv4.hpp"

#include "lqs/clock.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <ctime>
#include <optional>
#include <utility>
#include <vector>

namespace lqs::daemon::sigv4 {
namespace {

using nlohmann::json;

constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";
constexpr std::string_view kTerminator = "aws4_request";
constexpr std::string_view kSignatureMismatch =
    "The request signature we calculated does not match the signature you provided. Check your "
    "AWS Secret Access Key and signing method. Consult the service documentation for details.";

std::string hex(const unsigned char* p, size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(n * 2, '0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kDigits[p[i] >> 4];
    out[2 * i + 1] = kDigits[p[i] & 0xf];
  }
  return out;
}

using Mac = std::array<unsigned char, 32>;

// HMAC-SHA256. OpenSSL fails only without memory; the digest then stays zero and the
// signature simply does not match.
Mac hmac(std::string_view key, std::string_view data) {
  Mac out{};
  unsigned int len = 0;
  (void)HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
             reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(), &len);
  return out;
}

std::string_view as_view(const Mac& m) {
  return {reinterpret_cast<const char*>(m.data()), m.size()};
}

bool unreserved(unsigned char c) {
  return std::isalnum(c) != 0 || c == '-' || c == '_' || c == '.' || c == '~';
}

// RFC 3986 percent-encoding of everything but the unreserved characters (and '/' if asked).
std::string uri_encode(std::string_view s, bool keep_slash) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (unreserved(c) || (keep_slash && c == '/')) {
      out += ch;
    } else {
      out += '%';
      out += kDigits[c >> 4];
      out += kDigits[c & 0xf];
    }
  }
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Form decoding of a query component: %XX and '+' (a space). A '%' not followed by two hex
// digits stays a '%' (and is encoded again as %25).
std::string uri_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 &&
               hex_value(s[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    const size_t end = s.find(sep, start);
    out.push_back(s.substr(start, end == std::string_view::npos ? s.npos : end - start));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// A header value as signed: trimmed, runs of whitespace collapsed to one space.
std::string trim_all(std::string_view v) {
  std::string out;
  bool space = false;
  for (const char c : trim(v)) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      space = true;
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

// The path as botocore and the JS SDK sign it for non-S3 services: dot segments and empty
// segments removed, then every segment URI-encoded (once more, if it arrived encoded).
std::string canonical_uri(std::string_view path) {
  std::vector<std::string_view> segments;
  for (const std::string_view seg : split(path, '/')) {
    if (seg.empty() || seg == ".") continue;
    if (seg == "..") {
      if (!segments.empty()) segments.pop_back();
      continue;
    }
    segments.push_back(seg);
  }
  std::string out = "/";
  for (size_t i = 0; i < segments.size(); ++i) {
    if (i != 0) out += '/';
    out += uri_encode(segments[i], false);
  }
  if (!segments.empty() && path.ends_with('/')) out += '/';
  return out;
}

// Decoded query parameters in the order sent.
std::vector<std::pair<std::string, std::string>> query_params(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> out;
  if (query.empty()) return out;
  for (const std::string_view piece : split(query, '&')) {
    if (piece.empty()) continue;
    const size_t eq = piece.find('=');
    out.emplace_back(uri_decode(piece.substr(0, eq)), eq == std::string_view::npos
                                                          ? std::string()
                                                          : uri_decode(piece.substr(eq + 1)));
  }
  return out;
}

std::string canonical_query(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> params;
  for (auto& [k, v] : query_params(query)) {
    if (k == "X-Amz-Signature") continue;  // the presigned signature signs everything else
    params.emplace_back(uri_encode(k, false), uri_encode(v, false));
  }
  std::sort(params.begin(), params.end());
  std::string out;
  for (const auto& [k, v] : params) {
    if (!out.empty()) out += '&';
    out += k;
    out += '=';
    out += v;
  }
  return out;
}

std::string_view path_of(std::string_view target) { return target.substr(0, target.find('?')); }

std::string_view query_of(std::string_view target) {
  const size_t q = target.find('?');
  return q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
}

// yyyymmddTHHMMSSZ → seconds since the epoch.
std::optional<int64_t> parse_amz_date(std::string_view d) {
  if (d.size() != 16 || d[8] != 'T' || d[15] != 'Z') return std::nullopt;
  for (size_t i = 0; i < 15; ++i) {
    if (i != 8 && std::isdigit(static_cast<unsigned char>(d[i])) == 0) return std::nullopt;
  }
  const auto num = [&](size_t at, size_t n) {
    int v = 0;
    for (size_t i = at; i < at + n; ++i) v = v * 10 + (d[i] - '0');
    return v;
  };
  std::tm tm{};
  tm.tm_year = num(0, 4) - 1900;
  tm.tm_mon = num(4, 2) - 1;
  tm.tm_mday = num(6, 2);
  tm.tm_hour = num(9, 2);
  tm.tm_min = num(11, 2);
  tm.tm_sec = num(13, 2);
  if (tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
      tm.tm_sec > 60) {
    return std::nullopt;
  }
  return static_cast<int64_t>(::timegm(&tm));
}

std::string format_amz_date(int64_t t) {
  const auto tt = static_cast<std::time_t>(t);
  std::tm tm{};
  (void)::gmtime_r(&tt, &tm);
  char buf[32];
  (void)std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

// What a request claims: from the Authorization header or the presigned parameters.
struct Claim {
  std::string credential;  // AKID/date/region/service/aws4_request
  std::string signed_headers;
  std::string signature;
  std::string amz_date;
  std::optional<int64_t> expires_s;  // presigned only
  std::string what;                  // "Authorization=..." for messages
};

Error incomplete(std::string message) {
  return make_error(ErrorCode::kIncompleteSignature, std::move(message));
}

// Named values (Authorization's key=value pairs, or query parameters); a name given twice
// keeps its first value.
using Fields = std::map<std::string, std::string, std::less<>>;

const std::string* field(const Fields& f, std::string_view name) {
  const auto it = f.find(name);
  return it == f.end() ? nullptr : &it->second;
}

Error unsupported_algorithm(std::string_view algorithm, const std::string& what) {
  return incomplete("Unsupported AWS 'algorithm': '" + std::string(algorithm) + "'. Expected '" +
                    std::string(kAlgorithm) + "'. " + what);
}

Result<Claim> from_header(const SignedRequest& r, std::string_view authz) {
  const std::string what = "Authorization=" + std::string(authz);
  const size_t sp = authz.find(' ');
  const std::string_view algorithm = authz.substr(0, sp);
  if (algorithm != kAlgorithm) return unsupported_algorithm(algorithm, what);
  Fields f;
  for (const std::string_view raw :
       split(sp == std::string_view::npos ? std::string_view() : authz.substr(sp), ',')) {
    const std::string_view part = trim(raw);
    if (part.empty()) continue;
    const size_t eq = part.find('=');
    if (eq == std::string_view::npos) {
      return incomplete("'" + std::string(part) +
                        "' not a valid key=value pair (missing equal-sign) in Authorization "
                        "header: '" +
                        std::string(authz) + "'.");
    }
    f.emplace(part.substr(0, eq), part.substr(eq + 1));
  }
  std::string missing;
  for (const std::string_view name : {"Credential", "Signature", "SignedHeaders"}) {
    if (field(f, name) == nullptr) {
      missing += "Authorization header requires '" + std::string(name) + "' parameter. ";
    }
  }
  const std::string date = r.header("X-Amz-Date");
  if (date.empty()) {
    missing +=
        "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ";
  }
  if (!missing.empty()) return incomplete(missing + what);
  return Claim{*field(f, "Credential"),
               *field(f, "SignedHeaders"),
               *field(f, "Signature"),
               date,
               std::nullopt,
               what};
}

Result<Claim> from_query(std::string_view query) {
  Fields f;
  for (auto& [k, v] : query_params(query)) f.emplace(std::move(k), std::move(v));
  const std::string* algorithm = field(f, "X-Amz-Algorithm");
  if (algorithm == nullptr || *algorithm != kAlgorithm) {
    return unsupported_algorithm(algorithm == nullptr ? "" : *algorithm, "");
  }
  std::string missing;
  for (const std::string_view name :
       {"X-Amz-Credential", "X-Amz-Signature", "X-Amz-SignedHeaders", "X-Amz-Date"}) {
    if (field(f, name) == nullptr) {
      missing += "AWS query-string parameters must include '" + std::string(name) + "'. ";
    }
  }
  if (!missing.empty()) return incomplete(missing + "Re-examine the query-string parameters.");
  Claim c{*field(f, "X-Amz-Credential"),
          *field(f, "X-Amz-SignedHeaders"),
          *field(f, "X-Amz-Signature"),
          *field(f, "X-Amz-Date"),
          std::nullopt,
          "X-Amz-Credential=" + *field(f, "X-Amz-Credential")};
  if (const std::string* expires = field(f, "X-Amz-Expires")) {
    int64_t e = 0;
    bool ok = !expires->empty() && expires->size() <= 7;
    for (const char ch : *expires) {
      ok = ok && std::isdigit(static_cast<unsigned char>(ch)) != 0;
      if (ok) e = e * 10 + (ch - '0');
    }
    if (!ok || e > 7 * 24 * 3600) {
      return incomplete("X-Amz-Expires must be a number of seconds from 0 to 604800, got '" +
                        *expires + "'.");
    }
    c.expires_s = e;
  }
  return c;
}

}  // namespace

std::string canonical_request(const SignedRequest& r, std::string_view signed_headers) {
  std::string out(r.method);
  out += '\n';
  out += canonical_uri(path_of(r.target));
  out += '\n';
  out += canonical_query(query_of(r.target));
  out += '\n';
  for (const std::string_view name : split(signed_headers, ';')) {
    out += name;
    out += ':';
    out += trim_all(r.header(name));
    out += '\n';
  }
  out += '\n';
  out += signed_headers;
  out += '\n';
  out += sha256_hex(r.body);
  return out;
}

std::string signature(std::string_view secret, std::string_view date, std::string_view region,
                      std::string_view service, std::string_view string_to_sign) {
  const Mac k_date = hmac("AWS4" + std::string(secret), date);
  const Mac k_region = hmac(as_view(k_date), region);
  const Mac k_service = hmac(as_view(k_region), service);
  const Mac k_signing = hmac(as_view(k_service), kTerminator);
  const Mac sig = hmac(as_view(k_signing), string_to_sign);
  return hex(sig.data(), sig.size());
}

Result<std::string> verify(const SignedRequest& r, const Credentials& credentials,
                           int64_t now_unix_s, const VerifyOptions& options) {
  // 1. Which form, and is it complete?
  const std::string authz = r.header("Authorization");
  const std::string_view query = query_of(r.target);
  Result<Claim> claim = make_error(ErrorCode::kMissingAuthenticationToken,
                                   "The request must contain either a valid (registered) AWS "
                                   "access key ID or X.509 certificate.");
  const auto params = query_params(query);
  if (!authz.empty()) {
    claim = from_header(r, authz);
  } else if (std::any_of(params.begin(), params.end(),
                         [](const auto& kv) { return kv.first == "X-Amz-Algorithm"; })) {
    claim = from_query(query);
  }
  if (!claim) return std::move(claim).error();
  const Claim& c = *claim;

  const std::vector<std::string_view> scope = split(c.credential, '/');
  if (scope.size() != 5) {
    return incomplete(
        "Credential must have exactly 5 slash-delimited elements, e.g. "
        "keyid/date/region/service/term, got '" +
        c.credential + "'. " + c.what);
  }
  const std::string_view akid = scope[0];
  const std::string_view date = scope[1];
  const std::string_view region = scope[2];
  const std::string_view service = scope[3];
  const std::optional<int64_t> t = parse_amz_date(c.amz_date);
  if (!t) {
    return incomplete("Date must be in ISO-8601 'basic format'. Got '" + c.amz_date +
                      "'. See http://en.wikipedia.org/wiki/ISO_8601");
  }
  bool host_signed = false;
  for (const std::string_view h : split(c.signed_headers, ';')) host_signed |= h == "host";
  if (!host_signed) {
    return incomplete("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization. " +
                      c.what);
  }

  // 2. Whose key?
  const auto it = credentials.find(akid);
  if (it == credentials.end()) {
    return make_error(ErrorCode::kInvalidClientTokenId,
                      "The security token included in the request is invalid.");
  }

  // 3. When? ±15 minutes, or the presigned URL's lifetime.
  const int64_t skew = options.max_skew_s;
  if (c.expires_s && now_unix_s > *t + *c.expires_s) {
    return make_error(ErrorCode::kRequestExpired, "Request has expired. X-Amz-Date " + c.amz_date +
                                                      ", X-Amz-Expires " +
                                                      std::to_string(*c.expires_s) + ".");
  }
  if (!c.expires_s && *t < now_unix_s - skew) {
    return make_error(ErrorCode::kRequestExpired,
                      "Signature expired: " + c.amz_date + " is now earlier than " +
                          format_amz_date(now_unix_s - skew) + " (" + format_amz_date(now_unix_s) +
                          " - " + std::to_string(skew / 60) + " min.)");
  }
  if (*t > now_unix_s + skew) {
    return make_error(ErrorCode::kRequestExpired,
                      "Signature not yet current: " + c.amz_date + " is still later than " +
                          format_amz_date(now_unix_s + skew) + " (" + format_amz_date(now_unix_s) +
                          " + " + std::to_string(skew / 60) + " min.)");
  }

  // 4. The scope the client signed must be this request's.
  if (date != std::string_view(c.amz_date).substr(0, 8)) {
    return make_error(ErrorCode::kSignatureDoesNotMatch,
                      "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of "
                      "date from HTTP: '" +
                          std::string(date) + "' != '" + c.amz_date.substr(0, 8) + "', from '" +
                          c.amz_date + "'.");
  }
  if (service != options.service) {
    return make_error(
        ErrorCode::kSignatureDoesNotMatch,
        "Credential should be scoped to correct service: '" + std::string(options.service) + "'. ");
  }
  if (scope[4] != kTerminator) {
    return make_error(ErrorCode::kSignatureDoesNotMatch,
                      "Credential should be scoped with a valid terminator: 'aws4_request', not '" +
                          std::string(scope[4]) + "'. ");
  }
  // A payload hash the client sent must be the body's (an unsigned one could otherwise vouch
  // for a body that was swapped).
  const std::string content_sha = r.header("x-amz-content-sha256");
  if (!content_sha.empty() && content_sha != sha256_hex(r.body)) {
    return make_error(ErrorCode::kSignatureDoesNotMatch,
                      "The provided 'x-amz-content-sha256' header does not match what was "
                      "computed.");
  }

  // 5. The signature.
  const std::string creq = canonical_request(r, c.signed_headers);
  std::string to_sign(kAlgorithm);
  to_sign += '\n';
  to_sign += c.amz_date;
  to_sign += '\n';
  to_sign += c.credential.substr(akid.size() + 1);
  to_sign += '\n';
  to_sign += sha256_hex(creq);
  const std::string expected = signature(it->second, date, region, service, to_sign);
  if (c.signature.size() != expected.size() ||
      CRYPTO_memcmp(c.signature.data(), expected.data(), expected.size()) != 0) {
    return make_error(ErrorCode::kSignatureDoesNotMatch,
                      std::string(kSignatureMismatch) +
                          "\n\nThe Canonical String for this request should have been\n'" + creq +
                          "'\n\nThe String-to-Sign should have been\n'" + to_sign + "'\n");
  }
  return std::string(akid);
}

std::function<Result<void>(const http::Request&)> http_verifier(Credentials credentials) {
  return [creds = std::move(credentials)](const http::Request& r) -> Result<void> {
    SignedRequest s{r.method, r.target,
                    [&r](std::string_view name) { return std::string(r.header(name)); }, r.body};
    auto v = verify(s, creds, SystemClock::instance().unix_ms() / 1000);
    if (!v) return std::move(v).error();
    return {};
  };
}

Result<AuthConfig> parse_auth_config(const json& auth) {
  const auto bad = [](std::string m) {
    return make_error(ErrorCode::kInvalidParameterValue, "auth: " + std::move(m));
  };
  if (!auth.is_object()) return bad("must be a mapping with \"sigv4\" and \"credentials\"");
  AuthConfig out;
  out.sigv4 = true;  // an auth section turns verification on unless it says otherwise
  for (const auto& [k, v] : auth.items()) {
    if (k == "sigv4") {
      if (v.is_boolean()) {
        out.sigv4 = v.get<bool>();
      } else if (v.is_string() && (v == "true" || v == "false")) {
        out.sigv4 = v == "true";
      } else {
        return bad("\"sigv4\" must be true or false");
      }
    } else if (k == "credentials") {
      if (!v.is_array()) return bad("\"credentials\" must be a list");
      for (const json& e : v) {
        if (!e.is_object()) {
          return bad("every credential needs \"access_key_id\" and \"secret_access_key\"");
        }
        for (const auto& [ek, ev] : e.items()) {
          if ((ek != "access_key_id" && ek != "secret_access_key") || !ev.is_string()) {
            return bad(
                "a credential has \"access_key_id\" and \"secret_access_key\" strings, "
                "not \"" +
                ek + "\"");
          }
        }
        const std::string id = e.value("access_key_id", "");
        const std::string secret = e.value("secret_access_key", "");
        if (id.empty() || secret.empty() || id.find('/') != std::string::npos) {
          return bad(
              "every credential needs a non-empty \"access_key_id\" (without '/') and "
              "\"secret_access_key\"");
        }
        if (!out.credentials.emplace(id, secret).second) {
          return bad("access key id " + id + " is given twice");
        }
      }
    } else {
      return bad("unknown key \"" + k + "\" (expected \"sigv4\", \"credentials\")");
    }
  }
  return out;
}

}  // namespace lqs::daemon::sigv4
