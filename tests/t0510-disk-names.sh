#!/usr/bin/env bash
# Disk names: targets (vd* in PCI order, sd* in controller/bus/target/lun
# order), device ids, drive ids, node names and image paths each reach
# the right image; a device id wins over a computed target name.
. "$(dirname "$0")/lib.sh"
need_qemu

i=0
for d in v3 v4 v5 vrp s0 s1 sata; do
    i=$((i + 1))
    img_create "$T/$d.qcow2" qcow2 16M 1 "0x$i$i"
done
vm_start vm1 \
    -device pcie-root-port,id=rp1,bus=pcie.0,addr=0x2 \
    -drive "file=$T/v5.qcow2,if=none,id=drv5,format=qcow2" \
    -device virtio-blk-pci,drive=drv5,id=vd-slot5,addr=0x5 \
    -blockdev "driver=file,filename=$T/v3.qcow2,node-name=f3" \
    -blockdev driver=qcow2,file=f3,node-name=n3 \
    -device virtio-blk-pci,drive=n3,addr=0x3 \
    -drive "file=$T/v4.qcow2,if=none,id=drv4,format=qcow2" \
    -device virtio-blk-pci,drive=drv4,id=vd-slot4,addr=0x4 \
    -blockdev "driver=file,filename=$T/vrp.qcow2,node-name=frp" \
    -blockdev driver=qcow2,file=frp,node-name=n-rp \
    -device virtio-blk-pci,drive=n-rp,id=behind-rp,bus=rp1 \
    -device virtio-scsi-pci,id=scsi0,addr=0x6 \
    -drive "file=$T/s1.qcow2,if=none,id=drvs1,format=qcow2" \
    -device scsi-hd,drive=drvs1,bus=scsi0.0,scsi-id=1,lun=0,id=vdc \
    -drive "file=$T/s0.qcow2,if=none,id=drvs0,format=qcow2" \
    -device scsi-hd,drive=drvs0,bus=scsi0.0,scsi-id=0,lun=0 \
    -drive "file=$T/sata.qcow2,if=none,id=drvsata,format=qcow2" \
    -device ide-hd,drive=drvsata,bus=ide.2,id=sata1 \
    -drive if=none,id=cd0,media=cdrom -device ide-cd,drive=cd0,bus=ide.0,id=cdrom0

expect_exit 0 bc --json disks vm1
jq -r '.[] | "\(.target) \(.bus) \(.source // "-")"' "$T/out" >"$T/names"
cat >"$T/want" <<EOF2
vda virtio $T/v3.qcow2
vdb virtio $T/v4.qcow2
vdc virtio $T/v5.qcow2
vdd virtio $T/vrp.qcow2
sda scsi $T/s0.qcow2
sdb scsi $T/s1.qcow2
sdc sata -
sdd sata $T/sata.qcow2
EOF2
diff -u "$T/want" "$T/names" || fail "target names"
rm -f "$T/want" "$T/names"

expect_exit 0 bc disks vm1
expect_eq "$(awk '$1 == "vda" {print $2, $3, $4, $5, $6 $7, $8}' "$T/out")" \
    "/machine/peripheral-anon/device[0]/virtio-backend - n3 qcow2 16MiB $T/v3.qcow2" \
    "the table's vda line"
expect_grep "^sdc  *cdrom0  *cd0  *-  *-  *-  *(empty) (removable)$" "$T/out"

# copy_of NAME IMAGE: a copy addressed by NAME is a copy of IMAGE.
n=0
copy_of() {
    n=$((n + 1))
    expect_exit 0 bc vm1 "$1" "$T/copy$n.qcow2" --finish
    images_equal "$T/$2.qcow2" "$T/copy$n.qcow2"
    rm -f "$T/copy$n.qcow2"
}
copy_of vda v3          # target, anonymous -blockdev device
copy_of vd-slot4 v4     # device id
copy_of drv5 v5         # drive id
copy_of n-rp vrp        # node name
copy_of vdd vrp         # target behind a root port
copy_of sda s0          # SCSI target
copy_of vdc s1          # device id "vdc" wins over virtio target vdc
copy_of sdd sata        # SATA target
copy_of "$T/v4.qcow2" v4        # image path
ln -s "$T/s0.qcow2" "$T/link.qcow2"
copy_of "$T/link.qcow2" s0      # path through a symlink
copy_of "/machine/peripheral-anon/device[0]/virtio-backend" v3  # QOM path

unchanged vm1 bc vm1 sdc "$T/x.qcow2"
expect_grep "disk 'sdc' has no medium" "$T/err"
unchanged vm1 bc vm1 vdz "$T/x.qcow2"
expect_grep "no disk 'vdz' in this VM (disks: vda, vdb, vdc, vdd, sda, sdb, sdc, sdd)" "$T/err"
exit 0
