package org.flowscale.cli;

/**
 * An error the command reports as one message on stderr and an exit code, never a stack trace
 * (unless {@code --debug}).
 */
abstract sealed class CliException extends RuntimeException
    permits CliException.ConfigError, CliException.RunFailure {

  private CliException(String message, Throwable cause) {
    super(message, cause);
  }

  /** The process exit code. */
  abstract int exitCode();

  /** Bad usage or a bad config, found before any work started: exit code 2. */
  static final class ConfigError extends CliException {
    ConfigError(String message) {
      super(message, null);
    }

    ConfigError(String message, Throwable cause) {
      super(message, cause);
    }

    @Override
    int exitCode() {
      return Main.EXIT_USAGE;
    }
  }

  /** A failure while the run was under way (or of the machinery, not the user's input): 1. */
  static final class RunFailure extends CliException {
    RunFailure(String message, Throwable cause) {
      super(message, cause);
    }

    @Override
    int exitCode() {
      return Main.EXIT_FAILURE;
    }
  }
}
