package org.flowscale.engine.toy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class ToyWorldTest {
  static final ToyWorld WORLD = ToyWorld.generate(ToyWorld.DEFAULT_SEED, 512);

  @Test
  void sameSeedSameTemplatesOtherSeedOtherTemplates() {
    ToyWorld again = ToyWorld.generate(ToyWorld.DEFAULT_SEED, 512);
    ToyWorld other = ToyWorld.generate(ToyWorld.DEFAULT_SEED + 1, 512);
    int differ = 0;
    for (int k = 0; k < WORLD.size(); k++) {
      assertArrayEquals(WORLD.template(k).image(), again.template(k).image());
      if (!java.util.Arrays.equals(WORLD.template(k).image(), other.template(k).image())) {
        differ++;
      }
    }
    assertTrue(differ > 500, "another seed must move the objects, " + differ + " differ");
    // A shorter world is a prefix of a longer one.
    assertArrayEquals(
        WORLD.template(300).image(),
        ToyWorld.generate(ToyWorld.DEFAULT_SEED, 301).template(300).image());
  }

  @Test
  void templatesHoldOneToSixSeparatedObjectsInRange() {
    for (ToyWorld.Template t : WORLD.templates()) {
      List<ToyWorld.Placement> o = t.objects();
      assertTrue(o.size() >= 1 && o.size() <= ToyWorld.MAX_OBJECTS, t.describe());
      for (int i = 0; i < o.size(); i++) {
        ToyWorld.Placement p = o.get(i);
        assertTrue(p.x() >= 1 && p.y() >= 1, "one pixel of border");
        assertTrue(p.x() + p.size() <= ToyWorld.SIZE - 1 && p.y() + p.size() <= ToyWorld.SIZE - 1);
        assertTrue(p.size() >= 6 && p.size() <= 9);
        for (int j = 0; j < i; j++) {
          ToyWorld.Placement q = o.get(j);
          boolean apartX =
              p.x() + p.size() + ToyWorld.GAP <= q.x() || q.x() + q.size() + ToyWorld.GAP <= p.x();
          boolean apartY =
              p.y() + p.size() + ToyWorld.GAP <= q.y() || q.y() + q.size() + ToyWorld.GAP <= p.y();
          assertTrue(apartX || apartY, "objects " + i + " and " + j + " too close");
        }
      }
      for (float v : t.image()) {
        assertTrue(v >= -1 && v <= 1);
      }
      assertArrayEquals(ToyWorld.render(o), t.image());
    }
  }

  @Test
  void everyOneFactCountAndEveryTwoFactPromptWithSmallCountsIsSatisfiable() {
    for (int k = 0; k < Kind.COUNT; k++) {
      for (int n = 1; n <= ToyWorld.MAX_OBJECTS; n++) {
        Prompt p = new Prompt(List.of(new Prompt.Fact(n, Kind.of(k))));
        assertTrue(satisfiable(p), p + " has no template");
      }
      for (int k2 = k + 1; k2 < Kind.COUNT; k2++) {
        for (int a = 1; a <= 2; a++) {
          for (int b = 1; b <= 2; b++) {
            Prompt p =
                new Prompt(
                    List.of(new Prompt.Fact(a, Kind.of(k)), new Prompt.Fact(b, Kind.of(k2))));
            assertTrue(satisfiable(p), p + " has no template");
          }
        }
      }
    }
  }

  @Test
  void allShapesColoursAndSizesOfCompositionAppear() {
    int[] perKind = new int[Kind.COUNT];
    int[] perCount = new int[ToyWorld.MAX_OBJECTS + 1];
    for (ToyWorld.Template t : WORLD.templates()) {
      perCount[t.objects().size()]++;
      for (ToyWorld.Placement p : t.objects()) {
        perKind[p.kind().index()]++;
      }
    }
    for (int k = 0; k < Kind.COUNT; k++) {
      assertTrue(perKind[k] > 50, Kind.of(k) + " appears " + perKind[k] + " times");
    }
    for (int n = 1; n <= ToyWorld.MAX_OBJECTS; n++) {
      assertTrue(perCount[n] > 10, n + " objects in " + perCount[n] + " templates");
    }
  }

  @Test
  void imagesAreCopiesAndBadSizesAreRefused() {
    float[] img = WORLD.template(0).image();
    img[0] = 99;
    assertFalse(WORLD.template(0).image()[0] == 99);
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> ToyWorld.generate(1, 0));
    assertTrue(e.getMessage().contains("n_templates"));
  }

  @Test
  void kindIndexRoundTrips() {
    for (int k = 0; k < Kind.COUNT; k++) {
      assertEquals(k, Kind.of(k).index());
    }
    assertThrows(IllegalArgumentException.class, () -> Kind.of(Kind.COUNT));
  }

  private static boolean satisfiable(Prompt p) {
    for (ToyWorld.Template t : WORLD.templates()) {
      if (p.match(t.counts()) == 1) {
        return true;
      }
    }
    return false;
  }
}
