//! Says at every build when real nginx is absent: the differential tests then check strait
//! alone, and the notices they print are hidden by the test harness when they pass.

/// What the differential tests run: Debian's nginx and its dynamic stream module.
const NGINX: [&str; 2] = ["/usr/sbin/nginx", "/usr/lib/nginx/modules/ngx_stream_module.so"];

fn main() {
    for path in NGINX {
        // A path that does not exist reruns this script at every build, so the warning stays.
        println!("cargo:rerun-if-changed={path}");
        if !std::path::Path::new(path).exists() {
            println!(
                "cargo:warning={path} is NOT installed: the tests will NOT compare strait with \
                 nginx (apt-get install -y nginx-extras, as .ci/run does)"
            );
        }
    }
}
