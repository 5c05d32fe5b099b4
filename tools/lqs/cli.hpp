// Copyright lqs authors. The `lqs` command line: what its parts share — the instance settings,
// exit codes, failures, output formatting and the JSON/shorthand parameter syntax.
//
// Exit codes (README, "The lqs CLI"):
//   0  success
//   1  the service refused the request (an SQS error from lqsd or from the queue itself)
//   2  usage error: unknown command or option, missing or malformed parameter
//   3  lqsd could not be reached (control commands only)
// `lqs fsck` has its own: 0 healthy, 1 problems found, 2 corrupt or unreadable.
#ifndef LQS_TOOLS_LQS_CLI_HPP_
#define LQS_TOOLS_LQS_CLI_HPP_

#include "lqs/queue.hpp"
#include "lqs/result.hpp"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>

namespace lqs::cli {

using nlohmann::json;

enum Exit : int {
  kExitOk = 0,
  kExitService = 1,
  kExitUsage = 2,
  kExitUnreachable = 3,
};

/// Thrown anywhere in the CLI; main() prints `lqs: <line>` on stderr and exits with `code`.
struct Failure : std::runtime_error {
  Failure(int code, const std::string& line) : std::runtime_error(line), exit_code(code) {}
  int exit_code;
};

[[noreturn]] inline void usage_error(const std::string& what) {
  throw Failure(kExitUsage, "error: " + what);
}

/// An SQS error as the AWS CLI prints it: "An error occurred (<Code>) when calling the
/// <Action> operation: <message>".
[[noreturn]] void service_error(std::string_view code, std::string_view action,
                                std::string_view message);
[[noreturn]] void service_error(const Error& e, std::string_view action);

/// The instance the command works on (the same settings as lqsd's).
struct Instance {
  std::string shm_root = default_shm_root();
  std::string data_dir = "lqs-data";
  std::string endpoint = "127.0.0.1:9324";  ///< --endpoint-url / --listen: [http://]host:port
  std::string output = "json";              ///< json | text | table
  bool output_given = false;                ///< --output was given (fsck defaults to text)
  std::string region = "us-east-1";
  std::string account_id = "000000000000";

  QueueLocation location(const std::string& name) const {
    QueueLocation w;
    w.shm_root = shm_root;
    w.name = name;
    return w;
  }
  std::string queue_arn(const std::string& name) const {
    return "arn:aws:sqs:" + region + ":" + account_id + ":" + name;
  }
};

/// Prints an SQS output object in the chosen format (`title` heads a table). An empty object
/// prints nothing, as with the AWS CLI.
void print_output(const json& out, const std::string& format, const std::string& title);
/// The AWS CLI's `--output text` rendering of `out`.
std::string render_text(const json& out);
/// A boxed table in the spirit of the AWS CLI's `--output table`.
std::string render_table(const json& out, const std::string& title);

/// A parameter value as the AWS CLI takes it: `file://path` reads the file; otherwise the text.
std::string param_text(const std::string& value);
/// A JSON parameter (`--entries`, `--message-attributes`); `file://` allowed. Usage error when
/// it does not parse.
json parse_json_param(const std::string& flag, const std::string& value);
/// A map parameter (`--attributes`, `--tags`): a JSON object, or the shorthand
/// `Key=Value,Key=Value`. Values become strings (a JSON object value becomes its JSON text).
json parse_map_param(const std::string& flag, const std::string& value);

/// The queue name in a queue URL (`http://host/<account>/<name>`) or a bare name.
std::string queue_name_of(const std::string& url_or_name);

/// Registers the subcommands of each part on `app`; `inst` is filled by the global options
/// before any subcommand runs. Each returns nothing: subcommands run from their callbacks.
void add_sqs_commands(CLI::App& app, const Instance& inst);
void add_top_command(CLI::App& app, const Instance& inst);
void add_fsck_commands(CLI::App& app, const Instance& inst);
void add_worker_command(CLI::App& app, const Instance& inst);

/// The exit code a subcommand callback asks main() to return (callbacks return void).
int& exit_code();

}  // namespace lqs::cli

#endif  // LQS_TOOLS_LQS_CLI_HPP_
