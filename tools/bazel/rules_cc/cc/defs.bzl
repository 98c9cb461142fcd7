"""Local stand-in for rules_cc's defs.bzl: re-exports Bazel 4.2.3's native C++ rules.

Bazel's embedded tools load these names from @rules_cc; the real repository is a download this offline
build cannot make, and in Bazel 4 it only forwards to the native rules anyway.
"""

def cc_binary(**attrs):
    native.cc_binary(**attrs)

def cc_library(**attrs):
    native.cc_library(**attrs)

def cc_test(**attrs):
    native.cc_test(**attrs)

def cc_import(**attrs):
    native.cc_import(**attrs)

def cc_proto_library(**attrs):
    native.cc_proto_library(**attrs)

def cc_toolchain(**attrs):
    native.cc_toolchain(**attrs)

def cc_toolchain_suite(**attrs):
    native.cc_toolchain_suite(**attrs)

def objc_library(**attrs):
    native.objc_library(**attrs)
