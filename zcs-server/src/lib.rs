//! zcs server: protocol front ends, composition and the command-line tools.
