//! The scenarios a `weft` tool knows: the bundled ones, or a user's own.

use weft::internals::scenario::Scenario;

/// The scenarios one `weft` tool runs, fuzzes and replays, in `list` order, and the command
/// that runs the tool (named in the hints it prints, such as `weft replay FILE`).
pub struct Registry {
    tool: &'static str,
    scenarios: Vec<&'static dyn Scenario>,
}

impl Registry {
    /// No scenario yet; the tool is called `weft`.
    pub fn new() -> Self {
        Registry {
            tool: "weft",
            scenarios: Vec::new(),
        }
    }

    /// The command that runs this tool, as a user types it (`counter-weft`, or
    /// `cargo run --release --bin counter-weft --`): its help and its hints (`<tool> replay
    /// FILE`) name it. Error messages still begin with `weft:`.
    pub fn tool(mut self, command: &'static str) -> Self {
        self.tool = command;
        self
    }

    /// Adds a scenario, after those added before. The registry lives as long as the process
    /// (the tool hands out `&'static` scenarios to its worker threads), so the scenario is
    /// moved onto the heap and never freed.
    pub fn scenario(self, scenario: impl Scenario + 'static) -> Self {
        self.scenario_ref(Box::leak(Box::new(scenario)))
    }

    /// Adds a scenario that is already `'static` (a unit struct, a `static`).
    pub fn scenario_ref(mut self, scenario: &'static dyn Scenario) -> Self {
        self.scenarios.push(scenario);
        self
    }

    /// Every scenario, in the order they were added.
    pub fn scenarios(&self) -> &[&'static dyn Scenario] {
        &self.scenarios
    }

    /// The scenario called `name`.
    pub fn find(&self, name: &str) -> Option<&'static dyn Scenario> {
        self.scenarios.iter().copied().find(|s| s.name() == name)
    }

    /// The command a user types.
    pub fn tool_command(&self) -> &'static str {
        self.tool
    }

    /// The command that replays the file `path`.
    pub fn replay_command(&self, path: &std::path::Path) -> String {
        format!("{} replay {}", self.tool, path.display())
    }

    /// What is wrong with the registry itself, if anything: a scenario without a name, a name
    /// with blanks, or two scenarios of one name (the command line could not tell them apart).
    pub fn problem(&self) -> Option<String> {
        for (i, s) in self.scenarios.iter().enumerate() {
            let name = s.name();
            if name.is_empty() || name.chars().any(char::is_whitespace) {
                return Some(format!(
                    "scenario {name:?} has an empty name or a name with blanks"
                ));
            }
            if self.scenarios[..i].iter().any(|t| t.name() == name) {
                return Some(format!("two scenarios are named {name:?}"));
            }
        }
        None
    }
}

impl Default for Registry {
    fn default() -> Self {
        Self::new()
    }
}

impl From<Vec<&'static dyn Scenario>> for Registry {
    fn from(scenarios: Vec<&'static dyn Scenario>) -> Self {
        Registry {
            scenarios,
            ..Registry::new()
        }
    }
}
