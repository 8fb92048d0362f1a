/** Image output: PNG files of single images and labelled grids (plain {@code javax.imageio}). */
package org.flowscale.engine.image;
