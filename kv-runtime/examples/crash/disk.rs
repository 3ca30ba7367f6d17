//! Power loss, simulated: the store lives on an ext4 filesystem in an image file,
//! mounted through a loop device. The loop device writes to the image exactly what
//! the filesystem sent to its "disk" — what `fsync`/`fdatasync` forced out, plus what
//! the kernel happened to write back on its own — while everything still only in the
//! page cache stays out of it. Copying the image right after killing the writer is
//! therefore the disk as a power cut would leave it; mounting the copy replays ext4's
//! journal, as booting after the power cut would.
//!
//! What this does not model: a disk that loses or reorders writes it already
//! acknowledged to the kernel (its own volatile cache, a lying flush). The loop device
//! persists every write it is given, in order.
//!
//! Needs root (mount, losetup) and a kernel with loop devices and ext4.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Image size: sparse, so only what is written takes space.
const IMAGE_BYTES: u64 = 2 << 30;

fn run(program: &str, args: &[&str]) -> Result<String, String> {
    let out = Command::new(program)
        .args(args)
        .output()
        .map_err(|e| format!("{program}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{program} {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// An ext4 image mounted through a loop device; unmounted and detached when dropped.
#[derive(Debug)]
pub(crate) struct Mounted {
    image: PathBuf,
    device: String,
    mount_point: PathBuf,
}

impl Mounted {
    /// A fresh filesystem in `dir/name.img`, mounted at `dir/name`.
    pub(crate) fn create(dir: &Path, name: &str) -> Result<Self, String> {
        let image = dir.join(format!("{name}.img"));
        let file =
            std::fs::File::create(&image).map_err(|e| format!("{}: {e}", image.display()))?;
        file.set_len(IMAGE_BYTES)
            .map_err(|e| format!("{}: {e}", image.display()))?;
        drop(file);
        run("mkfs.ext4", &["-q", "-F", &image.display().to_string()])?;
        Self::mount(image, dir.join(name))
    }

    fn mount(image: PathBuf, mount_point: PathBuf) -> Result<Self, String> {
        std::fs::create_dir_all(&mount_point)
            .map_err(|e| format!("{}: {e}", mount_point.display()))?;
        let device = run("losetup", &["-f", "--show", &image.display().to_string()])?;
        let target = mount_point.display().to_string();
        if let Err(e) = run("mount", &["-t", "ext4", &device, &target]) {
            let _ = run("losetup", &["-d", &device]);
            return Err(e);
        }
        Ok(Self {
            image,
            device,
            mount_point,
        })
    }

    /// Where the filesystem is mounted.
    pub(crate) fn path(&self) -> &Path {
        &self.mount_point
    }

    /// The power cut: copies the image as the disk holds it now, then throws this
    /// filesystem away (unmounting it writes its page cache to the old image, which is
    /// deleted) and mounts the copy at `dir/name`.
    pub(crate) fn power_cut(self, dir: &Path, name: &str) -> Result<Self, String> {
        let copy = dir.join(format!("{name}.img"));
        run(
            "cp",
            &[
                "--sparse=always",
                &self.image.display().to_string(),
                &copy.display().to_string(),
            ],
        )?;
        drop(self);
        Self::mount(copy, dir.join(name))
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        // A store closed a moment ago may still have a background thread with a file
        // open there (fjall's workers, the journal writeback): busy for a few ms.
        let target = self.mount_point.display().to_string();
        let mut unmounted = run("umount", &[&target]);
        for _ in 0..50 {
            if unmounted.is_ok() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
            unmounted = run("umount", &[&target]);
        }
        if let Err(e) = unmounted {
            eprintln!("crash: {e}");
        }
        if let Err(e) = run("losetup", &["-d", &self.device]) {
            eprintln!("crash: {e}");
        }
        let _ = std::fs::remove_file(&self.image);
        let _ = std::fs::remove_dir(&self.mount_point);
    }
}

/// Whether this process can mount loop devices (root, `losetup` and `mkfs.ext4` found).
pub(crate) fn available() -> Result<(), String> {
    let uid = run("id", &["-u"])?;
    if uid != "0" {
        return Err("simulating a power loss mounts loop devices: run as root".to_owned());
    }
    for tool in ["losetup", "mkfs.ext4", "mount", "umount"] {
        run("sh", &["-c", &format!("command -v {tool}")])
            .map_err(|_| format!("{tool} is not installed"))?;
    }
    Ok(())
}
