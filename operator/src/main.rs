//! `cockpit`: the Claude Cockpit control plane.

fn main() {
    eprintln!("cockpit: the control plane is under construction");
    std::process::exit(2);
}
