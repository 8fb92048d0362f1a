package org.flowscale.engine.toy;

/**
 * Component means stored as a shared base plus a sparse difference per component: {@code mu_k =
 * base + delta_k}. Toy templates differ from the plain background only where objects are (about a
 * seventh of the values), so dot products and weighted sums over the templates cost a seventh of
 * the dense ones, exactly. A dense mixture uses a zero base and keeps every non-zero value.
 */
final class SparseMeans {
  final int dim;
  final int count;
  final float[] base;
  final int[] start;
  final int[] index;
  final float[] value;
  final double[] norms;

  /** From {@code count x dim} row-major means and a base of {@code dim} values. */
  SparseMeans(float[] means, int dim, float[] base) {
    if (base.length != dim || means.length % dim != 0) {
      throw new IllegalArgumentException("means must be K x " + dim + " and base " + dim);
    }
    this.dim = dim;
    this.count = means.length / dim;
    this.base = base.clone();
    this.start = new int[count + 1];
    int nnz = 0;
    for (int k = 0; k < count; k++) {
      for (int j = 0; j < dim; j++) {
        if (means[k * dim + j] != base[j]) {
          nnz++;
        }
      }
      start[k + 1] = nnz;
    }
    this.index = new int[nnz];
    this.value = new float[nnz];
    this.norms = new double[count];
    int p = 0;
    for (int k = 0; k < count; k++) {
      double n = 0;
      for (int j = 0; j < dim; j++) {
        float m = means[k * dim + j];
        n += (double) m * m;
        if (m != base[j]) {
          index[p] = j;
          value[p++] = m - base[j];
        }
      }
      norms[k] = n;
    }
  }

  /** The fraction of values stored per component (1 for a dense mixture without zeros). */
  double density() {
    return (double) index.length / ((double) count * dim);
  }
}
