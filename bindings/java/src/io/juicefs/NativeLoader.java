package io.juicefs;

import java.io.File;

/**
 * Loads libjuicefs_jni.so: from the system property {@code juicefs.jni.library} or the environment
 * variable {@code JUICEFS_JNI_LIBRARY} (an absolute path) if set, else from
 * {@code java.library.path} ({@code System.loadLibrary("juicefs_jni")}). The JNI library finds
 * libjuicefs.so through its run path or the system's library path.
 */
final class NativeLoader {
  private NativeLoader() {}

  static synchronized void load() {
    String path = System.getProperty("juicefs.jni.library");
    if (path == null || path.isEmpty()) {
      path = System.getenv("JUICEFS_JNI_LIBRARY");
    }
    try {
      if (path != null && !path.isEmpty()) {
        System.load(new File(path).getAbsolutePath());
      } else {
        System.loadLibrary("juicefs_jni");
      }
    } catch (UnsatisfiedLinkError e) {
      UnsatisfiedLinkError err = new UnsatisfiedLinkError("cannot load the JuiceFS JNI library ("
          + (path != null && !path.isEmpty() ? path : "juicefs_jni on java.library.path")
          + "; set -Djuicefs.jni.library=/path/libjuicefs_jni.so or JUICEFS_JNI_LIBRARY): "
          + e.getMessage());
      err.initCause(e);
      throw err;
    }
  }
}
