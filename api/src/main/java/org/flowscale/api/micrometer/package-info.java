/**
 * Binds a {@link org.flowscale.api.Pipeline}'s counters to a Micrometer registry. Micrometer is not
 * a dependency of flowscale: this package is compiled against {@code micrometer-core} and only
 * loaded when an application that has Micrometer on its class path uses it.
 */
package org.flowscale.api.micrometer;
