package io.juicefs;

import java.io.IOException;
import java.nio.file.ClosedFileSystemException;
import java.nio.file.FileStore;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.nio.file.Paths;
import java.nio.file.WatchService;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.UserPrincipal;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.nio.file.attribute.UserPrincipalNotFoundException;
import java.util.List;
import java.util.Set;

/**
 * A JuiceFS volume as a {@link FileSystem} for {@code jfs://NAME/...} URIs, created by {@code
 * FileSystems.newFileSystem(URI.create("jfs://NAME"), Map.of("meta-url", ...))}. Closing it closes
 * the volume and unregisters NAME.
 */
public final class JuiceFSFileSystem extends FileSystem {
  private final JuiceFSFileSystemProvider provider;
  private final String name;
  private final JuiceFS vol;
  private final boolean readOnly;
  private final JuiceFSFileStore store;

  JuiceFSFileSystem(JuiceFSFileSystemProvider provider, String name, JuiceFS vol, boolean readOnly) {
    this.provider = provider;
    this.name = name;
    this.vol = vol;
    this.readOnly = readOnly;
    this.store = new JuiceFSFileStore(this);
  }

  /** The name in the URIs (jfs://NAME/path). */
  public String name() {
    return name;
  }

  /** The open volume (for calls the NIO API has no name for). */
  public JuiceFS volume() {
    if (!vol.isOpen()) throw new ClosedFileSystemException();
    return vol;
  }

  @Override public JuiceFSFileSystemProvider provider() { return provider; }

  @Override
  public void close() throws IOException {
    provider.unregister(this);
    vol.close();
  }

  @Override public boolean isOpen() { return vol.isOpen(); }
  @Override public boolean isReadOnly() { return readOnly; }
  @Override public String getSeparator() { return "/"; }
  @Override public Iterable<Path> getRootDirectories() { return List.of(new JuiceFSPath(this, "/")); }
  @Override public Iterable<FileStore> getFileStores() { return List.of(store); }

  JuiceFSFileStore store() {
    return store;
  }

  @Override
  public Set<String> supportedFileAttributeViews() {
    return Set.of("basic", "posix", "unix", "owner");
  }

  @Override
  public Path getPath(String first, String... more) {
    StringBuilder b = new StringBuilder(first);
    for (String m : more) {
      if (m.isEmpty()) continue;
      if (b.length() > 0) b.append('/');
      b.append(m);
    }
    return new JuiceFSPath(this, b.toString());
  }

  /** glob: and regex: as the default file system (same '/' separated syntax). */
  @Override
  public PathMatcher getPathMatcher(String syntaxAndPattern) {
    PathMatcher m = FileSystems.getDefault().getPathMatcher(syntaxAndPattern);
    return p -> m.matches(Paths.get(p.toString()));
  }

  /** Users and groups are numeric ids ("1000"). */
  @Override
  public UserPrincipalLookupService getUserPrincipalLookupService() {
    return new UserPrincipalLookupService() {
      @Override
      public UserPrincipal lookupPrincipalByName(String n) throws IOException {
        try {
          return new Principals.User(Integer.parseUnsignedInt(n));
        } catch (NumberFormatException e) {
          throw new UserPrincipalNotFoundException(n);
        }
      }

      @Override
      public GroupPrincipal lookupPrincipalByGroupName(String n) throws IOException {
        try {
          return new Principals.Group(Integer.parseUnsignedInt(n));
        } catch (NumberFormatException e) {
          throw new UserPrincipalNotFoundException(n);
        }
      }
    };
  }

  @Override
  public WatchService newWatchService() {
    throw new UnsupportedOperationException("JuiceFS has no watch service");
  }
}
