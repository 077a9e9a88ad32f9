#!/usr/bin/env bash
# Onto a real ssh server: copies with --pivot and --finish into images
# QEMU creates over SFTP, the host key taken from <knownHosts> (plain and
# hashed entries); an existing image is refused without
# --reuse-external, and never truncated; the disk's own image (over ssh,
# or a file of this machine reached over ssh) and an unknown host or one
# of another key are refused before anything changes.
. "$(dirname "$0")/lib.sh"
need_qemu
server_start sshd
# QEMU's ssh driver authenticates through the agent only.
export SSH_AUTH_SOCK

# ssh_xml FILE IMAGE [KNOWN_HOSTS]
ssh_xml() {
    cat >"$1" <<XML
<disk type='network'>
  <driver type='qcow2'/>
  <source protocol='ssh' name='$2'>
    <host name='$SSH_HOST' port='$SSH_PORT'/>
    <auth username='$SSH_USER'/>
    <knownHosts path='${3:-$SSH_KNOWN_HOSTS}'/>
  </source>
</disk>
XML
}

img_create "$T/src.qcow2" qcow2 64M 4
vm_start vm1 $(drive_args "$T/src.qcow2" qcow2 drive0)

# An image that is there already is refused, also in a dry run, and
# keeps its data: QEMU's creation over SFTP would truncate it.
img_create "$SSH_DIR/old.qcow2" qcow2 64M 1 0x5a
sum=$(md5sum <"$SSH_DIR/old.qcow2")
ssh_xml "$T/old.xml" "$SSH_DIR/old.qcow2"
unchanged vm1 bc vm1 vda --xml "$T/old.xml" --finish
expect_err "error: destination 'ssh://$SSH_HOST:$SSH_PORT$SSH_DIR/old.qcow2' already exists; use --reuse-external to copy into it"
unchanged vm1 bc vm1 vda --xml "$T/old.xml" --dry-run
expect_grep "already exists; use --reuse-external" "$T/err"
expect_eq "$(md5sum <"$SSH_DIR/old.qcow2")" "$sum" "the existing image"

# A host the known hosts file does not list is refused.
: >"$T/empty_known_hosts"
ssh_xml "$T/unknown.xml" "$SSH_DIR/new.qcow2" "$T/empty_known_hosts"
unchanged vm1 bc vm1 vda --xml "$T/unknown.xml" --finish
expect_grep "error: host '\[$SSH_HOST\]:$SSH_PORT' is not in known hosts file '$T/empty_known_hosts'" "$T/err"
[ -e "$SSH_DIR/new.qcow2" ] && fail "an image was created for an unknown host"

# A host whose key is not the one the file holds: QEMU's refusal, before
# anything changes.
ssh-keygen -q -t ed25519 -N '' -f "$T/other_key"
echo "[$SSH_HOST]:$SSH_PORT $(cut -d' ' -f1-2 "$T/other_key.pub")" >"$T/wrong_known_hosts"
ssh_xml "$T/wrong.xml" "$SSH_DIR/new.qcow2" "$T/wrong_known_hosts"
unchanged --exit 1 vm1 bc vm1 vda --xml "$T/wrong.xml" --finish
expect_grep "cannot tell whether destination 'ssh://$SSH_HOST:$SSH_PORT$SSH_DIR/new.qcow2' exists: .*does not match" "$T/err"
[ -e "$SSH_DIR/new.qcow2" ] && fail "an image was created on a host of another key"

# A dry run shows the creation over SFTP, with the host key's hash.
ssh_xml "$T/new.xml" "$SSH_DIR/new.qcow2"
expect_exit 0 bc vm1 vda --xml "$T/new.xml" --dry-run
hash=$(cut -d' ' -f3 "$SSH_KNOWN_HOSTS" | base64 -d | sha256sum | cut -d' ' -f1)
expect_eq "$(jq -c 'select(.execute == "blockdev-create") | .arguments.options' "$T/out" | head -1)" \
    "{\"driver\":\"ssh\",\"location\":{\"user\":\"$SSH_USER\",\"server\":{\"host\":\"$SSH_HOST\",\"port\":\"$SSH_PORT\"},\"path\":\"$SSH_DIR/new.qcow2\",\"host-key-check\":{\"mode\":\"hash\",\"type\":\"sha256\",\"hash\":\"$hash\"}},\"size\":0}" \
    "ssh creation"
[ -e "$SSH_DIR/new.qcow2" ] && fail "a dry run created the image"

# --finish, the key found through a hashed entry.
ssh_xml "$T/finish.xml" "$SSH_DIR/finish.qcow2" "$SSH_KNOWN_HOSTS_HASHED"
expect_exit 0 bc vm1 vda --xml "$T/finish.xml" --finish
expect_grep "Successfully copied" "$T/out"
images_equal "$T/src.qcow2" "$SSH_DIR/finish.qcow2"
expect_eq "$(tool_leftovers vm1)" "" "left after --finish"

# --pivot: the VM runs on the image over ssh.
ssh_xml "$T/pivot.xml" "$SSH_DIR/pivot.qcow2"
expect_exit 0 bc vm1 vda --xml "$T/pivot.xml" --pivot
expect_grep "Successfully pivoted" "$T/out"
images_equal "$T/src.qcow2" "$SSH_DIR/pivot.qcow2"
case $(disk_file vm1 virtio-disk0) in
ssh://*"$SSH_DIR/pivot.qcow2"*) ;;
*) fail "the VM does not run on the copy: $(disk_file vm1 virtio-disk0)" ;;
esac

# Its own image now, by the same XML, with or without --reuse-external.
unchanged vm1 bc vm1 vda --xml "$T/pivot.xml" --finish
expect_err "error: destination 'ssh://$SSH_HOST:$SSH_PORT$SSH_DIR/pivot.qcow2' is the disk's own image"
unchanged vm1 bc vm1 vda --xml "$T/pivot.xml" --finish --reuse-external
expect_grep "is the disk's own image" "$T/err"
unchanged vm1 bc vm1 vda --xml "$T/pivot.xml" --dry-run
expect_grep "is the disk's own image" "$T/err"

# A VM started on an image over ssh (as a -blockdev, which QEMU names as
# a URL), copied onto that very image: refused.
hash=$(cut -d' ' -f3 "$SSH_KNOWN_HOSTS" | base64 -d | sha256sum | cut -d' ' -f1)
cp "$T/src.qcow2" "$SSH_DIR/vm2.qcow2"
vm_start vm2 -blockdev "{\"driver\":\"qcow2\",\"node-name\":\"disk2\",\"file\":{\"driver\":\"ssh\",\"server\":{\"host\":\"$SSH_HOST\",\"port\":\"$SSH_PORT\"},\"path\":\"$SSH_DIR/vm2.qcow2\",\"host-key-check\":{\"mode\":\"hash\",\"type\":\"sha256\",\"hash\":\"$hash\"}}}" \
    -device virtio-blk-pci,drive=disk2,id=virtio-disk0
sed "s|pivot.qcow2|vm2.qcow2|" "$T/pivot.xml" >"$T/vm2.xml"
unchanged vm2 bc vm2 vda --xml "$T/vm2.xml" --finish --reuse-external
expect_grep "is the disk's own image" "$T/err"

# A VM whose disk is a file of this machine, given as ssh to a loopback
# address: the same file, refused even with --reuse-external (a mirror
# onto itself would corrupt it).
cp "$T/src.qcow2" "$SSH_DIR/vm3.qcow2"
vm_start vm3 $(drive_args "$SSH_DIR/vm3.qcow2" qcow2 drive0)
sed "s|pivot.qcow2|vm3.qcow2|" "$T/pivot.xml" >"$T/vm3.xml"
unchanged vm3 bc vm3 vda --xml "$T/vm3.xml" --finish --reuse-external
expect_err "error: destination 'ssh://$SSH_HOST:$SSH_PORT$SSH_DIR/vm3.qcow2' is the disk's own image"
exit 0
