#!/usr/bin/env bash
# The JVM host: compiles examples-jvm (Kotlin + JNA, as an Android app
# binds nettask) and runs it against the loopback server.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/check-lib.sh

jna=/usr/share/java/jna.jar # Debian's libjna-java
cargo build --release --quiet
mkdir -p target/jvm
# kotlinc 1.3 warns about JVM flags newer JDKs dropped; only errors matter.
check "kotlinc examples-jvm" kotlinc -nowarn -cp "$jna" examples-jvm/*.kt -include-runtime -d target/jvm/demo.jar
scripts/with-server.sh bash -c '
  . scripts/check-lib.sh
  check "jvm: request, chunks, download, upload, abort" \
    java -Djna.library.path=target/release -cp target/jvm/demo.jar:'"$jna"' nettask.DemoKt "$NETTASK_HTTP"
'
