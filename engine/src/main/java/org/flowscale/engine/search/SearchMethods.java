package org.flowscale.engine.search;

import java.util.EnumMap;
import java.util.Map;
import java.util.ServiceLoader;

/** The one registry of search methods: config name to implementation. */
public final class SearchMethods {
  private static final Map<FilteringMethod, SearchMethod> METHODS = load();

  private SearchMethods() {}

  private static Map<FilteringMethod, SearchMethod> load() {
    Map<FilteringMethod, SearchMethod> m = new EnumMap<>(FilteringMethod.class);
    for (SearchMethod s : ServiceLoader.load(SearchMethod.class)) {
      SearchMethod prev = m.put(s.id(), s);
      if (prev != null) {
        throw new IllegalStateException(
            "two implementations of " + s.id().configName() + ": " + prev + " and " + s);
      }
    }
    return m;
  }

  /** The implementation of a method. */
  public static SearchMethod of(FilteringMethod method) {
    SearchMethod s = METHODS.get(method);
    if (s == null) {
      throw new IllegalStateException(
          "no implementation of filtering_method '" + method.configName() + "' is registered");
    }
    return s;
  }
}
