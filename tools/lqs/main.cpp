// Copyright lqs authors. lqs: the command line of an lqs instance.
//
//   lqs [--shm-root DIR] [--endpoint-url URL] [--output json|text|table] <command> [options]
//
// Commands: the `aws sqs` ones (create-queue, send-message, receive-message, ...), and
// top, fsck, dump, worker. Exit codes: cli.hpp.
#include "cli.hpp"

#include <cstdio>
#include <exception>
#include <string>

namespace {

void print_error_line(std::string line) {
  for (char& c : line) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  while (!line.empty() && line.back() == ' ') line.pop_back();
  (void)std::fprintf(stderr, "lqs: %s\n", line.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  using namespace lqs::cli;  // NOLINT(google-build-using-namespace): main of this tool
  CLI::App app{
      "lqs: the command line of an lqs instance. The `aws sqs` commands with the AWS CLI's "
      "names and output (control commands go to lqsd; message commands run on shared memory "
      "and need no daemon), and top, fsck, dump and worker."};
  app.require_subcommand(1);
  app.fallthrough();  // global options may also follow the command, as with the AWS CLI
  Instance inst;
  app.add_option("--shm-root", inst.shm_root, "directory of the queue segments")
      ->envname("LQS_SHM_ROOT")
      ->capture_default_str();
  app.add_option("--data-dir", inst.data_dir,
                 "lqsd's data directory (lqs fsck --wal reads <data-dir>/wal)")
      ->envname("LQS_DATA_DIR")
      ->capture_default_str();
  app.add_option("--endpoint-url,--listen", inst.endpoint,
                 "lqsd's address, http://HOST:PORT or HOST:PORT")
      ->envname("LQS_LISTEN")
      ->capture_default_str();
  app.add_option("--output", inst.output, "output format")
      ->check(CLI::IsMember({"json", "text", "table"}))
      ->each([&inst](const std::string&) { inst.output_given = true; })
      ->capture_default_str();
  app.add_option("--region", inst.region, "region in the ARNs lqs builds")->capture_default_str();
  app.add_option("--account-id", inst.account_id, "account id in the ARNs lqs builds")
      ->capture_default_str();
  app.footer(
      "Exit codes: 0 success; 1 the service refused the request (SQS error); 2 usage error; "
      "3 lqsd unreachable. lqs fsck: 0 healthy, 1 problems found, 2 corrupt or unreadable.");

  for (CLI::Option* o : app.get_options()) {  // a later --endpoint-url wins, as in shells
    o->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  }

  add_sqs_commands(app, inst);
  add_top_command(app, inst);
  add_fsck_commands(app, inst);
  add_worker_command(app, inst);

  try {
    // An unknown command reads better named than as CLI11's "A subcommand is required".
    for (int i = 1; i < argc; ++i) {
      const std::string a = argv[i];
      if (a.starts_with("-")) {
        if (a.find('=') == std::string::npos && a != "--help" && a != "-h") ++i;  // its value
        continue;
      }
      const auto subs = app.get_subcommands([&a](const CLI::App* s) { return s->check_name(a); });
      if (subs.empty()) {
        throw Failure(kExitUsage, "error: unknown command '" + a + "' (see lqs --help)");
      }
      break;
    }
    app.parse(argc, argv);  // the chosen command runs inside, from its callback
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) {
      return app.exit(e);  // --help
    }
    std::string line = std::string("error: ") + e.what();
    if (const auto* sub = app.get_subcommands().empty() ? nullptr : app.get_subcommands()[0]) {
      line += " (see lqs " + sub->get_name() + " --help)";
    } else {
      line += " (see lqs --help)";
    }
    print_error_line(line);
    return kExitUsage;
  } catch (const Failure& f) {
    print_error_line(f.what());
    return f.exit_code;
  } catch (const std::exception& e) {  // a bug or an unexpected input: still one line
    print_error_line(std::string("error: ") + e.what());
    return kExitUsage;
  }
  return exit_code();
}
