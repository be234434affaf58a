//! Recovery of the Raft log from what a crash can leave on disk: torn and lost unsynced
//! frames, and stale frames of an earlier life lined up after newer ones.

use raft::eraftpb::Entry;
use weft_raft_kv::storage::{log_frame, parse_log};

fn entry(index: u64, term: u64, data: &[u8]) -> Entry {
    let mut e = Entry::default();
    e.set_index(index);
    e.set_term(term);
    e.set_data(data.to_vec().into());
    e
}

/// (index, term) of each entry.
fn shape(entries: &[Entry]) -> Vec<(u64, u64)> {
    entries
        .iter()
        .map(|e| (e.get_index(), e.get_term()))
        .collect()
}

#[test]
fn a_batch_replaces_the_entries_from_its_first_index() {
    let mut disk = log_frame(
        0,
        1,
        &[entry(1, 1, b"a"), entry(2, 1, b"b"), entry(3, 1, b"c")],
    );
    disk.extend(log_frame(0, 2, &[entry(2, 2, b"x")]));
    let (entries, seq, end) = parse_log(&disk);
    assert_eq!(shape(&entries), [(1, 1), (2, 2)]);
    assert_eq!(entries[1].get_data(), b"x");
    assert_eq!((seq, end), (2, disk.len() as u64));
}

#[test]
fn a_torn_tail_ends_the_log_where_the_next_frame_goes() {
    let first = log_frame(0, 1, &[entry(1, 1, b"a")]);
    let second = log_frame(0, 2, &[entry(2, 1, b"b")]);
    for kept in 0..second.len() {
        let mut disk = first.clone();
        disk.extend_from_slice(&second[..kept]);
        let (entries, seq, end) = parse_log(&disk);
        assert_eq!(
            shape(&entries),
            [(1, 1)],
            "{kept} bytes of the second frame kept"
        );
        assert_eq!((seq, end), (1, first.len() as u64));
    }
}

#[test]
fn a_frame_that_survived_a_lost_one_is_not_taken() {
    // Frames 2 and 3 were unsynced; 2 was lost (zeros), 3 survived.
    let first = log_frame(0, 1, &[entry(1, 1, b"a")]);
    let second = log_frame(0, 2, &[entry(2, 1, b"b")]);
    let third = log_frame(0, 3, &[entry(3, 1, b"c")]);
    let mut disk = first.clone();
    disk.extend(vec![0; second.len()]);
    disk.extend(third);
    let (entries, seq, _) = parse_log(&disk);
    assert_eq!(shape(&entries), [(1, 1)]);
    assert_eq!(seq, 1);
}

#[test]
fn a_stale_frame_of_an_earlier_boot_after_a_newer_one_is_not_taken() {
    // Boot 0 wrote frames 2 and 3 unsynced and crashed: 2 lost, 3 survived. Boot 1 wrote a
    // new frame 2 of the same length where the lost one was: the old frame 3 now follows
    // it with the right sequence number, but from an earlier boot.
    let first = log_frame(0, 1, &[entry(1, 1, b"a")]);
    let new_second = log_frame(1, 2, &[entry(2, 2, b"n")]);
    let stale_third = log_frame(0, 3, &[entry(3, 1, b"c")]);
    let mut disk = first;
    disk.extend(new_second);
    disk.extend(stale_third);
    let (entries, seq, _) = parse_log(&disk);
    assert_eq!(shape(&entries), [(1, 1), (2, 2)]);
    assert_eq!(seq, 2);
}
