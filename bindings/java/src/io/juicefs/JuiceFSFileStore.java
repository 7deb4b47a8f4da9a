package io.juicefs;

import java.io.IOException;
import java.nio.file.FileStore;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.FileAttributeView;
import java.nio.file.attribute.FileStoreAttributeView;
import java.nio.file.attribute.PosixFileAttributeView;

/** The volume's usage (jfs_statvfs). */
final class JuiceFSFileStore extends FileStore {
  private final JuiceFSFileSystem fs;

  JuiceFSFileStore(JuiceFSFileSystem fs) {
    this.fs = fs;
  }

  @Override public String name() { return fs.name(); }
  @Override public String type() { return "juicefs"; }
  @Override public boolean isReadOnly() { return fs.isReadOnly(); }
  @Override public long getTotalSpace() throws IOException { return fs.volume().statvfs()[1]; }
  @Override public long getUsableSpace() throws IOException { return fs.volume().statvfs()[2]; }
  @Override public long getUnallocatedSpace() throws IOException { return fs.volume().statvfs()[2]; }
  @Override public long getBlockSize() throws IOException { return fs.volume().statvfs()[0]; }

  @Override
  public boolean supportsFileAttributeView(Class<? extends FileAttributeView> type) {
    return type == BasicFileAttributeView.class || type == PosixFileAttributeView.class;
  }

  @Override
  public boolean supportsFileAttributeView(String name) {
    return fs.supportedFileAttributeViews().contains(name);
  }

  @Override
  public <V extends FileStoreAttributeView> V getFileStoreAttributeView(Class<V> type) {
    return null;
  }

  @Override
  public Object getAttribute(String attribute) throws IOException {
    switch (attribute) {
      case "totalSpace": return getTotalSpace();
      case "usableSpace": return getUsableSpace();
      case "unallocatedSpace": return getUnallocatedSpace();
      default: throw new UnsupportedOperationException("attribute " + attribute);
    }
  }
}
