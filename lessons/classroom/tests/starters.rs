//! The generated starters (`just exercises`, `course::exercises`) and the
//! checkers (`just check`) name the same exercises, lessons and folders.

use classroom::check;

#[test]
fn every_generated_starter_is_an_exercise_with_the_same_lesson_and_folder() {
    for starter in course::exercises::STARTERS {
        let exercise = check::find(starter.name)
            .unwrap_or_else(|e| panic!("the starter `{}` has no checker: {e}", starter.name));
        assert_eq!(exercise.lesson, starter.lesson, "{}", starter.name);
        assert_eq!(exercise.starter, starter.dir, "{}", starter.name);
    }
}
