package org.flowscale.bindings;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * One loaded native library and its symbols. Loading failures and missing symbols become {@link
 * NativeLibraryException}s that say what was looked for and where, never a crash later on.
 */
public final class NativeLibrary {
  private static final Linker LINKER = Linker.nativeLinker();

  private final String description;
  private final SymbolLookup lookup;

  private NativeLibrary(String description, SymbolLookup lookup) {
    this.description = description;
    this.lookup = lookup;
  }

  /**
   * Loads the first library that exists and loads among {@code candidates} (paths, or bare names
   * resolved by the dynamic loader), for the lifetime of the process.
   */
  public static NativeLibrary load(String what, List<String> candidates) {
    StringBuilder tried = new StringBuilder();
    for (String c : candidates) {
      if (c == null || c.isBlank()) {
        continue;
      }
      boolean isPath = c.contains("/");
      if (isPath && !Files.isRegularFile(Path.of(c))) {
        tried.append("\n  ").append(c).append(": no such file");
        continue;
      }
      try {
        // A bare name must go through the dynamic loader's search (dlopen of the name): the Path
        // overload resolves it against the working directory instead and never finds it.
        SymbolLookup l =
            isPath
                ? SymbolLookup.libraryLookup(Path.of(c), Arena.global())
                : SymbolLookup.libraryLookup(c, Arena.global());
        return new NativeLibrary(what + " (" + c + ")", l);
      } catch (IllegalArgumentException e) {
        tried.append("\n  ").append(c).append(": ").append(e.getMessage());
      }
    }
    throw new NativeLibraryException("cannot load " + what + "; tried:" + tried);
  }

  /** A downcall handle for {@code name}, or an exception naming the library and symbol. */
  public MethodHandle function(String name, FunctionDescriptor descriptor) {
    return LINKER.downcallHandle(require(name), descriptor);
  }

  /**
   * The address of {@code name}, or an exception naming the library and symbol: checks a symbol
   * without making a downcall handle for it yet.
   */
  public MemorySegment require(String name) {
    return lookup
        .find(name)
        .orElseThrow(
            () ->
                new NativeLibraryException(
                    description + " has no symbol '" + name + "': an incompatible version?"));
  }

  /** Whether the library exports {@code name}. */
  public boolean has(String name) {
    return lookup.find(name).isPresent();
  }

  @Override
  public String toString() {
    return description;
  }
}
