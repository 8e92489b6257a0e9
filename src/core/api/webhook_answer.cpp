#include "api/webhook_answer.hpp"

#include "base/json.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace wa {

namespace {

using Writer = JsonWriter;

}  // namespace

std::string error_json(std::string_view code, std::string_view message) {
    rapidjson::StringBuffer sb;
    Writer w(sb);
    w.StartObject();
    w.Key("error");
    w.StartObject();
    json_put(w, "code", code);
    json_put(w, "message", message);
    w.EndObject();
    w.EndObject();
    return {sb.GetString(), sb.GetSize()};
}

std::string webhook_ack_json(std::uint32_t received, std::uint32_t duplicates,
                             std::uint32_t unrouted) {
    rapidjson::StringBuffer sb;
    Writer w(sb);
    w.StartObject();
    w.Key("received");
    w.Uint(received);
    w.Key("duplicates");
    w.Uint(duplicates);
    w.Key("unrouted");
    w.Uint(unrouted);
    w.EndObject();
    return {sb.GetString(), sb.GetSize()};
}

}  // namespace wa
