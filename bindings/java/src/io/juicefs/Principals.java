package io.juicefs;

import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.UserPrincipal;

/** Users and groups of a volume, named by their numeric ids. */
public final class Principals {
  private Principals() {}

  /** A user named by its uid (getName() is the decimal uid). */
  public static class User implements UserPrincipal {
    final int id;

    public User(int id) {
      this.id = id;
    }

    public int id() {
      return id;
    }

    @Override public String getName() { return Integer.toUnsignedString(id); }
    @Override public String toString() { return getName(); }
    @Override public boolean equals(Object o) {
      return o != null && o.getClass() == getClass() && ((User) o).id == id;
    }
    @Override public int hashCode() { return id * 31 + getClass().hashCode(); }
  }

  /** A group named by its gid. */
  public static final class Group extends User implements GroupPrincipal {
    public Group(int id) {
      super(id);
    }
  }

  /** The numeric id of a principal: ours, or one whose name is a number. */
  static int idOf(UserPrincipal p) {
    if (p instanceof User) return ((User) p).id;
    try {
      return Integer.parseUnsignedInt(p.getName());
    } catch (NumberFormatException e) {
      throw new UnsupportedOperationException("JuiceFS owners are numeric ids, not " + p.getName());
    }
  }
}
