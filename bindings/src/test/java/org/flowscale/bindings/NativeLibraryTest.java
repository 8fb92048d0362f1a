package org.flowscale.bindings;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.util.List;
import org.junit.jupiter.api.Test;

class NativeLibraryTest {
  @Test
  void bareNamesGoThroughTheDynamicLoaderSearch() throws Throwable {
    // libcuda.so.1 is found this way on GPU machines: by soname, wherever the driver put it.
    NativeLibrary libc = NativeLibrary.load("the C library", List.of("libc.so.6"));
    assertTrue(libc.has("strlen"));
    assertFalse(libc.has("no_such_symbol_flowscale"));
    var strlen = libc.function("strlen", FunctionDescriptor.of(JAVA_LONG, ADDRESS));
    try (Arena a = Arena.ofConfined()) {
      assertEquals(5L, (long) strlen.invokeExact(a.allocateFrom("hello")));
    }
    var e =
        assertThrows(
            NativeLibraryException.class,
            () -> libc.function("no_such_symbol_flowscale", FunctionDescriptor.ofVoid()));
    assertTrue(e.getMessage().contains("no_such_symbol_flowscale"));
  }

  @Test
  void failureListsEveryCandidateTried() {
    var e =
        assertThrows(
            NativeLibraryException.class,
            () ->
                NativeLibrary.load(
                    "a test library", List.of("libflowscale_missing.so.9", "/nonexistent/lib.so")));
    assertTrue(e.getMessage().contains("libflowscale_missing.so.9"), e.getMessage());
    assertTrue(e.getMessage().contains("/nonexistent/lib.so: no such file"), e.getMessage());
  }

  @Test
  void requireChecksASymbolWithoutLinkingIt() {
    NativeLibrary libc = NativeLibrary.load("the C library", List.of("libc.so.6"));
    org.junit.jupiter.api.Assertions.assertNotEquals(0L, libc.require("strlen").address());
    var e =
        org.junit.jupiter.api.Assertions.assertThrows(
            NativeLibraryException.class, () -> libc.require("fs_no_such_function"));
    org.junit.jupiter.api.Assertions.assertTrue(
        e.getMessage().contains("has no symbol 'fs_no_such_function'"), e.getMessage());
  }
}
